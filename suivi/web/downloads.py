"""Spreadsheet downloads of lists: CSV streamed, XLSX built whole."""

from collections.abc import Callable, Iterable

from django.http import Http404, HttpResponse, StreamingHttpResponse

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def spreadsheet(fmt: str, name: str, csv_lines: Callable[[], Iterable[str]], xlsx_bytes: Callable[[], bytes]):
    """``name.csv`` or ``name.xlsx`` as an attachment; any other ``fmt`` is not found."""
    if fmt == "xlsx":
        response: HttpResponse | StreamingHttpResponse = HttpResponse(xlsx_bytes(), content_type=XLSX)
    elif fmt == "csv":
        response = StreamingHttpResponse(csv_lines(), content_type="text/csv; charset=utf-8")
    else:
        raise Http404
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response
