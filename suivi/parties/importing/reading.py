"""Reading an import file as rows, streamed and bounded (CSV line by line, XLSX after the sizes
of its zip members were checked): the limits are checked while reading, with a message in the
user's language."""

import codecs
import csv
import re
import zipfile
from collections.abc import Iterator
from itertools import islice
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext as _

from suivi.lib.spreadsheet import is_formula_like

ENCODINGS = [("utf-8", "UTF-8"), ("windows-1252", "Windows-1252 (Excel)"), ("iso-8859-15", "ISO-8859-15")]

MAX_ROWS = 100_000  # data rows (the header is not counted)
MAX_COLUMNS = 200
MAX_CELL = 2_000  # characters in one cell; no field is longer
MAX_LINE = 200_000  # characters in one physical CSV line
XLSX_MAX_SHARED_STRINGS = 48 * 1024 * 1024  # bytes of xl/sharedStrings.xml, which is read whole
XLSX_MAX_SHEET = 512 * 1024 * 1024  # bytes of a worksheet's XML (streamed)
XLSX_MAX_RUN = 1024 * 1024  # bytes between two XML tags: bounds any one element read

PREVIEW_ROWS = 5
PREVIEW_CELL = 60  # characters of a cell shown on the import page


class ImportFileError(ValueError):
    """The file cannot be read as a table; the message says why and what to do."""


def check_size(size: int | None) -> None:
    limit = settings.SUIVI_IMPORT_MAX_BYTES
    if size is not None and size > limit:
        raise ImportFileError(
            _("The file is too large (%(size)s MB; %(limit)s MB at most). Split it and import each part.")
            % {"size": round(size / 1048576, 1), "limit": limit // 1048576}
        )


# --- reading, streamed and bounded ---------------------------------------------------------------


def _too_many_rows() -> ImportFileError:
    return ImportFileError(
        _("The file has more than %(max)s rows. Split it and import each part.") % {"max": f"{MAX_ROWS:,}"}
    )


def _check_cells(line: int, cells: list[str]) -> None:
    if len(cells) > MAX_COLUMNS:
        raise ImportFileError(
            _("Line %(line)s has %(count)s columns; %(max)s at most. Remove the columns you do not import.")
            % {"line": line, "count": len(cells), "max": MAX_COLUMNS}
        )
    for index, cell in enumerate(cells):
        if len(cell) > MAX_CELL:
            raise ImportFileError(
                _(
                    "Line %(line)s, column %(column)s holds %(count)s characters; a cell holds %(max)s at "
                    "most. Shorten it and upload the file again."
                )
                % {"line": line, "column": index + 1, "count": f"{len(cell):,}", "max": f"{MAX_CELL:,}"}
            )


def iter_rows(
    file: IO[bytes], filename: str, encoding: str = "utf-8", info: dict[str, int] | None = None
) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) of every non-empty row of ``file``, the header first (line 1 for a file that
    starts with it), checking the limits while reading. ``file`` is a seekable binary file; an XLSX
    reader puts the row count its sheet declares in ``info["declared_rows"]`` (for progress)."""
    head = file.read(4)
    file.seek(0)
    if not head:
        raise ImportFileError(_("The file is empty. Choose a CSV or XLSX file with a header row."))
    if filename.lower().endswith(".xlsx") or head == b"PK\x03\x04":
        rows = _xlsx_rows(file, info if info is not None else {})
    else:
        rows = _csv_rows(file, encoding)
    count = 0
    for line, cells in rows:
        _check_cells(line, cells)
        if not any(c.strip() for c in cells):
            continue
        count += 1
        if count > MAX_ROWS + 1:
            raise _too_many_rows()
        yield line, [c.strip() for c in cells]
    if not count:
        raise ImportFileError(_("The file is empty. Choose a CSV or XLSX file with a header row."))


def _csv_lines(file: IO[bytes], encoding: str) -> Iterator[str]:
    """Physical lines of the file, decoded, each at most MAX_LINE characters."""
    decoder = codecs.getincrementaldecoder("utf-8-sig" if encoding == "utf-8" else encoding)()
    position = 0
    pending = ""
    line_number = 1
    while True:
        block = file.read(65536)
        try:
            pending += decoder.decode(block, final=not block)
        except UnicodeDecodeError as e:
            raise ImportFileError(
                _(
                    "The file is not valid %(encoding)s text (byte %(byte)s at position %(pos)s). If it "
                    "comes from Excel, choose the encoding Windows-1252 and upload it again."
                )
                % {"encoding": encoding.upper(), "byte": hex(e.object[e.start]), "pos": position + e.start}
            ) from e
        position += len(block)
        if "\x00" in pending:
            raise ImportFileError(_("This is not a text file. Choose a CSV or XLSX file."))
        lines = pending.splitlines(keepends=True)
        pending = lines.pop() if block and lines and not lines[-1].endswith(("\n", "\r")) else ""
        if pending.endswith("\r"):  # a CR LF cut between two blocks
            lines.append(pending)
            pending = ""
        for line in lines:
            yield line
            line_number += 1
        if len(pending) > MAX_LINE:
            raise ImportFileError(
                _("Line %(line)s is longer than %(max)s characters. Is this really a CSV file?")
                % {"line": line_number, "max": f"{MAX_LINE:,}"}
            )
        if not block:
            if pending:
                yield pending
            return


def _csv_rows(file: IO[bytes], encoding: str) -> Iterator[tuple[int, list[str]]]:
    if encoding not in dict(ENCODINGS):
        encoding = "utf-8"
    lines = _csv_lines(file, encoding)
    sample_lines = list(islice(lines, 50))
    sample = "".join(sample_lines)[:20000]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=";,\t|")
    except csv.Error:

        class dialect(csv.excel):  # type: ignore[no-redef]
            delimiter = ";" if sample.count(";") > sample.count(",") else ","

    counted = _Counting(iter(sample_lines), lines)
    reader = csv.reader(counted, dialect)
    try:
        for cells in reader:
            yield counted.first_line, [_as_typed(c) if c[:1] == "'" else c for c in cells]
            counted.first_line = counted.line + 1
    except csv.Error as e:
        raise ImportFileError(_("The CSV file is malformed: %(reason)s") % {"reason": e}) from e


def _as_typed(cell: str) -> str:
    """A CSV cell as it was typed before an export neutralised it: ``'=A1`` → ``=A1`` (Suivi's export,
    as others, puts an apostrophe before a text a spreadsheet would run as a formula)."""
    return cell[1:] if cell[1:2] and is_formula_like(cell[1:]) else cell


class _Counting:
    """Lines for csv.reader, counting them so that each record knows the line it starts on."""

    def __init__(self, first: Iterator[str], rest: Iterator[str]):
        self.parts = [first, rest]
        self.line = 0
        self.first_line = 1

    def __iter__(self):
        return self

    def __next__(self) -> str:
        while self.parts:
            try:
                value = next(self.parts[0])
            except StopIteration:
                self.parts.pop(0)
                continue
            self.line += 1
            return value
        raise StopIteration


def _check_zip(file: IO[bytes]) -> None:
    """Refuse a workbook whose parts would not fit the limits, from the sizes its zip directory
    declares (zipfile never inflates a member beyond its declared size), and any XML element
    longer than XLSX_MAX_RUN, before openpyxl reads anything."""
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise _not_xlsx() from e
    with archive:
        parts = [i for i in archive.infolist() if re.fullmatch(r"xl/worksheets/[^/]+\.xml", i.filename)]
        strings = [i for i in archive.infolist() if i.filename.lower() == "xl/sharedstrings.xml"]
        too_big = _(
            "This workbook is too large once unpacked (%(size)s MB of %(part)s; %(limit)s MB at most). "
            "Save it as CSV, or split it, and import each part."
        )
        for info in strings:
            if info.file_size > XLSX_MAX_SHARED_STRINGS:
                raise ImportFileError(
                    too_big
                    % {
                        "size": info.file_size // 1048576,
                        "part": _("texts"),
                        "limit": XLSX_MAX_SHARED_STRINGS // 1048576,
                    }
                )
        for info in parts:
            if info.file_size > XLSX_MAX_SHEET:
                raise ImportFileError(
                    too_big
                    % {"size": info.file_size // 1048576, "part": _("sheet"), "limit": XLSX_MAX_SHEET // 1048576}
                )
        long_run = re.compile(rb"[^<]{%d}" % XLSX_MAX_RUN)
        for info in strings + parts:
            try:
                with archive.open(info) as member:
                    tail = b""
                    while block := member.read(1 << 20):
                        block = tail + block
                        if long_run.search(block):
                            raise ImportFileError(
                                _("A cell of this workbook holds more than %(max)s MB of text. Remove it.")
                                % {"max": XLSX_MAX_RUN // 1048576}
                            )
                        cut = block.rfind(b"<")
                        tail = block[cut:] if cut >= 0 else block
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as e:
                raise _not_xlsx() from e
    file.seek(0)


def _not_xlsx() -> ImportFileError:
    return ImportFileError(
        _("This file cannot be read as an XLSX workbook. Save it again from your spreadsheet as .xlsx or .csv.")
    )


def _xlsx_rows(file: IO[bytes], info: dict[str, int]) -> Iterator[tuple[int, list[str]]]:
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet

    _check_zip(file)
    try:
        # openpyxl's load_workbook without its worksheets: in read-only mode it would parse a whole
        # sheet that declares no dimension just to size it. The workbook part, shared strings and
        # styles (which cells are dates) are read as load_workbook reads them.
        reader = ExcelReader(file, read_only=True, data_only=True)
        reader.read_manifest()
        reader.read_strings()
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
        path = next(
            rel.target
            for _sheet, rel in reader.parser.find_sheets()
            if rel.target in reader.valid_files and "chartsheet" not in rel.Type
        )
        with reader.archive.open(path) as source:
            head = source.read(65536)  # the <dimension> comes before the rows: for progress only
        declared = re.search(rb"<(?:\w+:)?dimension\s+ref=\"[A-Z]*[0-9]*(?::[A-Z]*([0-9]+))?\"", head)
    except ImportFileError:
        raise
    except Exception as e:  # openpyxl raises many kinds for a bad file
        raise _not_xlsx() from e
    info["declared_rows"] = int(declared.group(1)) if declared and declared.group(1) else 0
    try:
        with reader.archive.open(path) as source:
            yield from _sheet_rows(source, reader.shared_strings, reader.wb)
    except ImportFileError:
        raise
    except Exception as e:
        raise _not_xlsx() from e
    finally:
        reader.archive.close()


_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_COLUMN = re.compile(r"[A-Z]+")


def _sheet_rows(source: IO[bytes], shared: list, workbook) -> Iterator[tuple[int, list[str]]]:
    """(row number, cell texts) of a worksheet's XML, as openpyxl's read-only reader gives them
    (``iter_rows(values_only=True)`` with ``data_only``, missing rows as empty ones), without its
    per-cell objects: four times faster. Shared strings, inline strings, numbers, booleans,
    formula results, errors and dates (by the cell's style) read as openpyxl reads them."""
    from xml.etree.ElementTree import iterparse

    from openpyxl.utils.datetime import from_excel, from_ISO8601
    from openpyxl.worksheet._reader import _cast_number

    row_tag, cell_tag, value_tag = _NS + "row", _NS + "c", _NS + "v"
    inline_tag, text_tag, run_tag = _NS + "is", _NS + "t", _NS + "r"
    date_styles, timedelta_styles, epoch = workbook._date_formats, workbook._timedelta_formats, workbook.epoch
    number = 0
    cells: dict[int, Any] = {}
    column = 0
    for _event, element in iterparse(source):
        tag = element.tag
        if tag == cell_tag:
            kind = element.get("t", "n")
            reference = element.get("r")
            if reference:
                letters = _COLUMN.match(reference)
                column = 0
                for letter in letters.group() if letters else "":
                    column = column * 26 + ord(letter) - 64
            else:
                column += 1
            value: Any = None
            if kind == "inlineStr":
                child = element.find(inline_tag)
                if child is not None:
                    parts = []
                    for part in child:
                        if part.tag == text_tag:
                            parts.append(part.text or "")
                        elif part.tag == run_tag:
                            parts.append(part.findtext(text_tag) or "")
                    value = "".join(parts)
            else:
                value = element.findtext(value_tag) or None
                if value is not None:
                    if kind == "n":
                        value = _cast_number(value)
                        style = int(element.get("s") or 0)
                        if style in date_styles:
                            try:
                                value = from_excel(value, epoch, timedelta=style in timedelta_styles)
                            except (OverflowError, ValueError):
                                value = "#VALUE!"
                    elif kind == "s":
                        value = shared[int(value)]
                    elif kind == "b":
                        value = bool(int(value))
                    elif kind == "d":
                        value = from_ISO8601(value)
            if value is not None:
                cells[column] = value
            element.clear()
        elif tag == row_tag:
            reference = element.get("r")
            row_number = int(float(reference)) if reference else number + 1
            if row_number <= number:  # out of order: openpyxl skips it too
                cells, column = {}, 0
                element.clear()
                continue
            while number + 1 < row_number:  # rows the file leaves out
                number += 1
                yield number, []
            number = row_number
            if cells:
                texts = [""] * max(cells)
                for index, value in cells.items():
                    if index >= 1:
                        texts[index - 1] = str(value)
                cells = {}
            else:
                texts = []
            yield number, texts
            column = 0
            element.clear()


def _cut(value: str, limit: int = PREVIEW_CELL) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def inspect(file: IO[bytes], filename: str, encoding: str) -> tuple[list[str], list[list[str]]]:
    """Column names and the first rows, cut short for display."""
    rows = iter_rows(file, filename, encoding)
    _line, headers = next(rows)
    if not any(headers):
        raise ImportFileError(_("The first row must hold the column names; it is empty."))
    preview = [[_cut(c) for c in cells] for _line, cells in islice(rows, PREVIEW_ROWS)]
    return [_cut(h, 100) for h in headers], preview
