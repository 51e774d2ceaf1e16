"""Turning one incoming RFC 822 mail into what Suivi files as an e-mail action.

``parse_mail(raw)`` never raises: whatever the bytes, it returns a ``ParsedMail`` whose texts are
one-line where they should be, free of control characters, capped in length, and storable (no NUL,
no lone surrogate); what had to be dropped is described in ``skipped``.

The MIME tree comes from the standard library's modern parser
(``BytesParser(policy=email.policy.default)``, its header registry memoised for the mail: the
parser asks for each part's Content-Type a dozen times, which was half of the time of a 20 KB
mail). A tree too deep for it (RecursionError) is given up: headers are read, the body is kept as
one text, and ``skipped`` says so. Headers, are decoded here from their raw
source (``Message.raw_items()``) rather than through the policy's header objects, for three
reasons measured on real mails:

- speed: the policy parses an address list at ~0.3 ms an address (2,000 recipients: 0.7 s);
- robustness: it raises on a display name that decodes to CR/LF, and turns 8-bit header bytes
  into U+FFFD, where most 8-bit headers are UTF-8 or Windows-1252 and can be read;
- safety: addresses are split *before* RFC 2047 words are decoded, so an encoded name cannot
  smuggle in an extra address (``=?utf-8?q?x=2C_evil=40example.com?=``).

Classification (``kind``), first rule that matches:

- ``"bounce"``: a ``multipart/report; report-type=delivery-status``, a ``message/delivery-status``
  (or RFC 6533 ``message/global-delivery-status``) part, or a mail from ``MAILER-DAEMON@`` /
  ``postmaster@`` whose subject looks like a delivery failure. ``bounced_recipients`` lists the
  Original-Recipient and Final-Recipient of every per-recipient block whose Action is ``failed``
  (or, without an Action, whose Status is 5.x.x), plus Exim's ``X-Failed-Recipients``. A delay or
  success report is a bounce with no recipient.
- ``"auto_reply"``: ``Auto-Submitted`` with a value other than ``no`` (RFC 3834), ``X-Autoreply``,
  ``X-Autorespond``, ``Precedence: auto_reply``, a read receipt (``report-type=
  disposition-notification``), or a subject starting like an out-of-office notice in English,
  French, Dutch, German, Italian or Spanish.
- ``"conversation"`` otherwise. Mailing-list and bulk mail (``List-Id``, ``List-Unsubscribe``,
  ``Precedence: bulk|junk|list``) is deliberately *not* set apart: it is sent by a person or a
  company the user deals with, and filing it or not is the caller's policy.
"""

import base64
import binascii
import codecs
import hashlib
import html as html_lib
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import errors as email_errors
from email import policy as email_policy
from email.message import Message
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from functools import lru_cache

from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext

from suivi.lib.html import sanitise
from suivi.lib.unicode import strip_unstorable

CONVERSATION = "conversation"
AUTO_REPLY = "auto_reply"
BOUNCE = "bounce"

MAX_SUBJECT = 500
MAX_NAME = 200
MAX_FILENAME = 200
MAX_TEXT = 200_000
MAX_HTML = 1_000_000
MAX_REFERENCES = 50
MAX_MESSAGE_ID = 250  # longer ids are replaced by a hash of themselves (a database column holds them)
MAX_PARTS = 500  # MIME parts read in one mail; the rest is noted in `skipped`
MAX_ADDRESSES = 10_000  # per header
SYNTHETIC_DOMAIN = "suivi.invalid"


@dataclass(frozen=True)
class Address:
    name: str
    email: str


@dataclass(frozen=True)
class MailAttachment:
    filename: str
    content_type: str
    data: bytes


@dataclass
class ParsedMail:
    message_id: str = ""
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    subject: str = ""
    sender: Address | None = None
    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    reply_to: list[Address] = field(default_factory=list)
    date: datetime | None = None
    text: str = ""
    html: str = ""
    attachments: list[MailAttachment] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    kind: str = CONVERSATION
    bounced_recipients: list[str] = field(default_factory=list)
    size: int = 0


def all_addresses(mail: ParsedMail) -> list[str]:
    """Every distinct e-mail of the sender, To, Cc and Reply-To, in that order (case-insensitively
    distinct; the first spelling is kept)."""
    seen: dict[str, str] = {}
    people = ([mail.sender] if mail.sender else []) + mail.to + mail.cc + mail.reply_to
    for address in people:
        seen.setdefault(address.email.lower(), address.email)
    return list(seen.values())


# --- Text cleaning -----------------------------------------------------------------------------

# C0 and C1 controls, line and paragraph separators, bidirectional overrides and isolates (which
# can disguise "invoice‮fdp.exe"), and lone surrogates.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_SPACES = re.compile(r"\s+")
_FOLDING = re.compile(r"\r?\n(?=[ \t])")
# In a body: every control but tab and newline, and lone surrogates.
_BODY_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


def _one_line(text: str, limit: int) -> str:
    """``text`` on one line: controls and line breaks become spaces, runs of spaces one."""
    return _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()[:limit].rstrip()


def _body_text(text: str, limit: int) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _BODY_CONTROL.sub("", text)[:limit]


# --- Charsets ----------------------------------------------------------------------------------

# Codecs Python knows that are not mail charsets (and some turn bytes into lone surrogates).
_NOT_CHARSETS = {"unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined"}
# Labels mail clients send for what they really encode in a superset (as browsers do, WHATWG).
_SUPERSETS = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "iso-8859-9": "cp1254",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "iso-8859-8-i": "iso-8859-8",
    "x-sjis": "cp932",
    "shift_jis": "cp932",
}


def _codec(charset: str | None) -> str | None:
    """The Python codec for a declared charset; None for none, unknown or plain ASCII."""
    if not charset or len(charset) > 64:  # (a long label would stay in the cache)
        return None
    return _lookup_codec(charset)


@lru_cache(maxsize=256)
def _lookup_codec(charset: str) -> str | None:
    label = charset.strip().strip("\"'").split("*", 1)[0].lower()
    if label in ("us-ascii", "ascii", "unknown-8bit", "x-unknown", "default", ""):
        return None
    label = _SUPERSETS.get(label, label)
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError):
        return None
    if not info._is_text_encoding or info.name in _NOT_CHARSETS:
        return None
    return info.name


def _decode(data: bytes, charset: str | None) -> str:
    """``data`` as text: in its declared charset with replacement characters; without a usable
    charset, UTF-8 when it is valid UTF-8, else Windows-1252 (the two an unlabelled mail is in)."""
    name = _codec(charset)
    if name is not None:
        try:
            return data.decode(name, "replace")
        except Exception:  # a codec that fails even with "replace"
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def _from_8bit(value: str) -> str:
    """A raw header value with its 8-bit bytes read as UTF-8, else Windows-1252.

    The bytes parser keeps undecodable bytes as surrogate escapes; they go back to bytes here."""
    if value.isascii():
        return value
    return _decode(value.encode("utf-8", "surrogateescape"), None)


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")


def _word_bytes(encoding: str, text: str) -> bytes | None:
    data = text.encode("utf-8", "surrogateescape")
    try:
        if encoding in "bB":
            data = data.rstrip(b"=")
            return base64.b64decode(data + b"=" * (-len(data) % 4))
        return binascii.a2b_qp(data, header=True)
    except (binascii.Error, ValueError):
        return None


def _decode_words(text: str) -> str:
    """``text`` with its RFC 2047 encoded words decoded; adjacent words in one charset are joined
    as bytes first (mailers split multi-byte characters across words), the whitespace between
    encoded words is dropped, a word that cannot be decoded is kept as it is."""
    if "=?" not in text:
        return text
    out: list[str] = []
    pending_charset: str | None = None
    pending = bytearray()
    position = 0
    after_word = False

    def flush() -> None:
        nonlocal pending_charset
        if pending_charset is not None:
            out.append(_decode(bytes(pending), pending_charset))
            pending.clear()
            pending_charset = None

    for match in _ENCODED_WORD.finditer(text):
        between = text[position : match.start()]
        if not (after_word and not between.strip()):
            flush()
            out.append(between)
        position = match.end()
        data = _word_bytes(match.group(2), match.group(3))
        if data is None:
            flush()
            out.append(match.group(0))
            after_word = False
            continue
        charset = match.group(1).split("*", 1)[0].lower()
        if charset != pending_charset:
            flush()
            pending_charset = charset
        pending.extend(data)
        after_word = True
    flush()
    out.append(text[position:])
    return "".join(out)


def _header_text(value: str) -> str:
    """A raw header value unfolded, 8-bit bytes and RFC 2047 words decoded (not yet cleaned)."""
    return _decode_words(_from_8bit(_FOLDING.sub("", value)))


# --- Headers -----------------------------------------------------------------------------------


def _raw_headers(message: Message) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        headers.setdefault(name.strip().lower(), []).append(value if isinstance(value, str) else str(value))
    return headers


def _first(headers: dict[str, list[str]], name: str) -> str:
    values = headers.get(name)
    return values[0] if values else ""


# Tokens of an address list: an encoded word (whatever it holds, ":" included), a quoted string, a
# comment, an angle address, a separator, an atom.
_ADDRESS_TOKEN = re.compile(
    r'=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=|"(?:[^"\\]|\\.)*"?|\((?:[^()\\]|\\.)*\)?|<[^<>]*>?|[,;:]|[^",;:(<=]+|=',
    re.S,
)
_QUOTED_PAIR = re.compile(r"\\(.)", re.S)


def _unquote(token: str) -> str:
    inner = token[1:-1] if len(token) > 1 and token.endswith(token[0] if token[0] == '"' else ")") else token[1:]
    return _QUOTED_PAIR.sub(r"\1", inner)


def _clean_email(value: str) -> str:
    """A bare address with its domain lower-cased; "" when it is not one."""
    value = _SPACES.sub("", _CONTROL.sub("", value)).strip("<>.,;")
    if value.lower().startswith("mailto:"):
        value = value[7:]
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain or len(value) > 320 or "<" in value or ">" in value:
        return ""
    return f"{local}@{domain.lower()}"


def _address(parts: list[tuple[str, str]]) -> Address | None:
    angle = None
    words: list[str] = []
    comments: list[str] = []
    bare: list[str] = []
    for kind, token in parts:
        if kind == "<":
            if angle is None:
                angle = token.strip("<> \t")
        elif kind == "(":
            comments.append(_unquote(token))
        elif kind == '"':
            words.append(_unquote(token))
            bare.append(token)
        else:
            words.append(token)  # with its spaces: `Bob "The Builder" Smith`
            bare.append(token)
    if angle is not None:
        email = _clean_email(angle.rpartition(":")[2])  # without a source route "@a,@b:"
        name = "".join(words).strip() or " ".join(comments)
    else:
        candidate = "".join(bare).strip()
        name = " ".join(comments)
        if '"' not in candidate and len(candidate.split()) > 1:  # `Bob Smith bob@example.com`
            pieces = candidate.split()
            found = next((p for p in pieces if "@" in p), "")
            name = name or " ".join(p for p in pieces if p != found)
            candidate = found
        email = _clean_email(candidate)
    if not email:
        return None
    if "=?" in name:
        name = _decode_words(name)
    return Address(name=_one_line(name, MAX_NAME), email=email)


def _addresses(values: list[str]) -> list[Address]:
    """The addresses of one or more address-list header values (groups flattened, malformed
    entries dropped)."""
    found: list[Address] = []
    for raw in values:
        value = _from_8bit(_FOLDING.sub("", raw))
        parts: list[tuple[str, str]] = []
        for match in _ADDRESS_TOKEN.finditer(value):
            token = match.group()
            first = token[0]
            if first in ",;":
                if parts:
                    address = _address(parts)
                    if address is not None:
                        found.append(address)
                    parts = []
            elif first == ":":
                if not any(kind == "<" for kind, _ in parts):
                    parts = []  # a group's name: "Team: a@example.com, b@example.com;"
            elif first in '"(<':
                parts.append((first, token))
            elif not token.isspace():
                parts.append(("a", token))
            if len(found) >= MAX_ADDRESSES:
                return found
        if parts:
            address = _address(parts)
            if address is not None:
                found.append(address)
    return found[:MAX_ADDRESSES]


_BRACKETED_ID = re.compile(r"<([^<>]*)>")


def normalise_message_id(value: str) -> str:
    """``value`` as ``"<local@domain>"``: the first bracketed id (or the whole value when it has no
    brackets), without whitespace or controls; "" when there is no id. An id longer than
    MAX_MESSAGE_ID characters is replaced by a hash of itself, the same every time."""
    if not value:
        return ""
    value = _from_8bit(value)
    match = _BRACKETED_ID.search(value)
    if match:
        inner = match.group(1)
    elif "<" in value:  # "<abc@example.com" without its closing bracket
        inner = value.split("<", 1)[1]
    else:
        inner = value
    inner = _SPACES.sub("", _CONTROL.sub("", inner)).strip("<>")
    if not inner:
        return ""
    if len(inner) + 2 > MAX_MESSAGE_ID:
        inner = f"{hashlib.sha256(inner.encode('utf-8', 'surrogatepass')).hexdigest()}@{SYNTHETIC_DOMAIN}"
    return f"<{inner}>"


def _references(values: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for raw in values:
        value = _FOLDING.sub("", raw)
        # Brackets are the separators; ids split by folding ("<abc\r\n @example.com>") survive.
        pieces = _BRACKETED_ID.findall(value) if "<" in value else value.replace(",", " ").split()
        for piece in pieces:
            normalised = normalise_message_id(piece)
            if normalised:
                seen.setdefault(normalised, None)
    return list(seen)[-MAX_REFERENCES:]


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(_one_line(_from_8bit(value), 200))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)  # "-0000": UTC


# --- MIME parts --------------------------------------------------------------------------------


def _safe(call, default):
    """``call()``, or ``default`` when the header behind it is too broken for the email package."""
    try:
        result = call()
    except Exception:
        return default
    return default if result is None else result


def _part_header(part: Message, name: str) -> str:
    for key, value in part.raw_items():
        if key.strip().lower() == name:
            return value if isinstance(value, str) else str(value)
    return ""


def _payload_bytes(part: Message) -> bytes:
    data = _safe(lambda: part.get_payload(decode=True), b"")
    return data if isinstance(data, bytes) else b""


def _encoded_size(part: Message) -> int:
    """The size of a part once decoded, from its encoded text (cheaper than decoding a part too
    big to keep); 0 when only decoding tells (quoted-printable, uuencode)."""
    payload = part.get_payload()
    if not isinstance(payload, str):
        return 0
    encoding = _part_header(part, "content-transfer-encoding").strip().lower()
    if encoding == "base64":
        return (len(payload) - payload.count("\n") - payload.count("\r") - payload.count(" ")) * 3 // 4
    if encoding in ("", "7bit", "8bit", "binary"):
        return len(payload)
    return 0


def _filename(value: str) -> str:
    """A file name from a mail, harmless to show and to store: no folders, no controls, capped."""
    if "=?" in value:
        value = _decode_words(value)
    value = value.replace("\\", "/").rsplit("/", 1)[-1]
    value = _one_line(value, 10 * MAX_FILENAME).strip(" .")
    if len(value) > MAX_FILENAME:
        stem, dot, extension = value.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            value = f"{stem[: MAX_FILENAME - len(extension) - 1].rstrip()}.{extension}"
        else:
            value = value[:MAX_FILENAME].rstrip()
    return value


def _unflow(text: str, delsp: bool) -> str:
    """A format=flowed text (RFC 3676) with its soft line breaks joined."""
    lines: list[str] = []
    pieces: list[str] = []
    for line in text.split("\n"):
        if line.endswith(" ") and line != "-- ":  # a soft break: the line goes on
            pieces.append(line[:-1] if delsp else line)
        else:
            pieces.append(line)
            lines.append("".join(pieces))
            pieces = []
    if pieces:
        lines.append("".join(pieces))
    return "\n".join(lines)


def _text_of(part: Message) -> str:
    charset = _safe(part.get_content_charset, None)
    text = _decode(_payload_bytes(part), charset).replace("\r\n", "\n").replace("\r", "\n")
    if _safe(lambda: part.get_param("format", ""), "").lower() == "flowed":
        text = _unflow(text, _safe(lambda: part.get_param("delsp", ""), "").lower() == "yes")
    return text


# --- HTML --------------------------------------------------------------------------------------

_HEAD_END = re.compile(r"</head\s*>", re.I)
# `sanitise` keeps few tags: a line break is added where a dropped block ended, inside table
# cells (outside a cell, the HTML parser would move it before the table).
_BLOCK_END = re.compile(
    r"(</(?:div|h1|h2|h5|h6|dt|dd|section|article|header|footer|address|center|caption)\s*>|<hr\b[^>]*>)", re.I
)
_CELL_END = re.compile(r"(</t[dh]\s*>)", re.I)
_BREAKS = re.compile(r"(?:<br>\s*){3,}")
_TEXT_BREAK = re.compile(r"<br>|</(?:li|pre)>|<(?:ul|ol|p|h3|h4|blockquote|pre)>", re.I)
_TEXT_PARAGRAPH = re.compile(r"</(?:p|h3|h4|blockquote|ul|ol)>", re.I)
_TAG = re.compile(r"<[^>]*>")


def _sanitised_html(source: str) -> str:
    """The HTML body through `suivi.lib.html.sanitise`, its block structure kept as line breaks."""
    source = source[: 2 * MAX_HTML]
    head = _HEAD_END.search(source, 0, 200_000)
    if head:  # the title and styles of the document are not part of the mail's text
        source = source[head.end() :]
    source = _CELL_END.sub(r"<br>\1", _BLOCK_END.sub(r"\1<br>", source))
    cleaned = _BREAKS.sub("<br><br>", sanitise(source))
    for _ in range(3):  # cut and sanitise again, so that no tag or entity is left cut
        if len(cleaned) <= MAX_HTML:
            return strip_unstorable(cleaned)
        cleaned = sanitise(cleaned[: MAX_HTML - 1000])
    return ""


def _html_to_text(cleaned: str) -> str:
    """Plain text of HTML sanitised by `_sanitised_html`: paragraphs, line breaks, list items."""
    text = _SPACES.sub(" ", cleaned)
    text = _TEXT_PARAGRAPH.sub("\n\n", text)
    text = _TEXT_BREAK.sub("\n", text)
    text = text.replace("<li>", "- ")
    text = html_lib.unescape(_TAG.sub("", text)).replace("\xa0", " ")
    lines = [line.strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- Classification ----------------------------------------------------------------------------

_DAEMONS = {"mailer-daemon", "mailerdaemon", "mail-daemon", "postmaster"}
_FAILURE_SUBJECT = re.compile(
    r"undeliver|delivery status notification|delivery (?:has )?failed|delivery failure|mail delivery|"
    r"returned mail|returned to sender|failure notice|could not be delivered|"
    r"non remis|non distribu|échec de (?:la )?(?:remise|distribution)|"
    r"onbestelbaar|niet bezorgd|kan niet worden bezorgd|unzustellbar|nicht zustellbar|"
    r"mancato recapito|non recapitabile|no se puede entregar|no entregado",
    re.I,
)
_AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(?:auto(?:matic)?[ _-]?(?:reply|response|answer)|autoreply|out of (?:the )?office|"
    r"absen(?:ce|t)\s*(?::|$|du bureau|de bureau)|"
    r"r[ée]ponse automatique|message d'absence|"
    r"automatisch(?:e)? (?:antwoord|beantwoording)|afwezig(?:heid)?\s*(?::|$)|"
    r"abwesenheitsnotiz|automatische antwort|abwesend\s*(?::|$)|"
    r"risposta automatica|fuori sede|respuesta autom[áa]tica|fuera de la oficina)",
    re.I,
)


def _auto_reply(headers: dict[str, list[str]], subject: str) -> bool:
    submitted = _first(headers, "auto-submitted").split(";", 1)[0].strip().lower()
    if submitted and submitted != "no":
        return True
    if "x-autoreply" in headers or "x-autorespond" in headers:
        return True
    if _first(headers, "precedence").strip().lower() == "auto_reply":
        return True
    return bool(_AUTO_REPLY_SUBJECT.match(subject))


_FIELD = re.compile(r"^([!-9;-~]+)[ \t]*:[ \t]*(.*)$")


def _field_blocks(text: str) -> list[dict[str, str]]:
    """The blocks of ``Name: value`` fields of a delivery-status text, blank-line separated."""
    blocks: list[dict[str, str]] = []
    block: dict[str, str] = {}
    last = ""
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line.strip():
            if block:
                blocks.append(block)
            block, last = {}, ""
        elif line[0] in " \t" and last:
            block[last] += " " + line.strip()
        elif match := _FIELD.match(line):
            last = match.group(1).lower()
            block.setdefault(last, match.group(2).strip())
    if block:
        blocks.append(block)
    return blocks


def _delivery_status_blocks(part: Message) -> list[dict[str, str]]:
    payload = part.get_payload()
    if not isinstance(payload, list):
        return _field_blocks(_decode(_payload_bytes(part), "utf-8"))
    # The parser reads message/delivery-status as header blocks, and any other message/* type as
    # one mail: its headers are the first block, its body the other ones.
    blocks = []
    for block in payload:
        if isinstance(block, Message):
            fields: dict[str, str] = {}
            for name, value in block.raw_items():
                fields.setdefault(name.strip().lower(), _FOLDING.sub("", str(value)).strip())
            blocks.append(fields)
            if not block.is_multipart() and block.get_payload():
                blocks.extend(_field_blocks(_decode(_payload_bytes(block), "utf-8")))
    return blocks


def _failed_recipients(blocks: list[dict[str, str]]) -> list[str]:
    found = []
    for block in blocks:
        action = block.get("action", "").strip().lower()
        status = block.get("status", "").strip()
        if action == "failed" or (not action and status.startswith("5")):
            for name in ("original-recipient", "final-recipient"):
                value = block.get(name, "")
                email = _clean_email(value.split(";", 1)[-1]).lower() if value else ""
                if email:
                    found.append(email)
    return found


# --- The mail ----------------------------------------------------------------------------------


class _RememberedHeaders:
    """The default policy's header registry, remembering the headers it parsed for one mail.

    The parser and the walk ask for each part's Content-Type a dozen times, and the policy parses
    the header again each time: that was half of the time of a whole `parse_mail`."""

    def __init__(self):
        self.registry = email_policy.default.header_factory
        self.parsed: dict[tuple[str, str], object] = {}

    def __call__(self, name, value):
        key = (name, value)
        header = self.parsed.get(key)
        if header is None:
            header = self.parsed[key] = self.registry(name, value)
        return header

    def __getitem__(self, name):  # the header's class, which the policy asks for its max_count
        return self.registry[name]


def _parse_message(raw: bytes) -> tuple[Message, bool]:
    """The MIME tree of ``raw``, and whether its structure had to be given up (then the headers
    are read, and the whole body as one text)."""
    policy = email_policy.default.clone(header_factory=_RememberedHeaders())
    try:
        return BytesParser(policy=policy).parsebytes(raw), False
    except Exception:  # e.g. RecursionError on a thousand nested multiparts
        pass
    try:
        message = BytesParser(policy=policy).parsebytes(raw, headersonly=True)
        for name in ("content-type", "content-transfer-encoding", "content-disposition"):
            del message[name]
    except Exception:
        message = Message(policy=policy)
        message.set_payload(raw.decode("ascii", "surrogateescape"))
    return message, True


_DAMAGE = (
    email_errors.InvalidBase64CharactersDefect,
    email_errors.InvalidBase64PaddingDefect,
    email_errors.InvalidBase64LengthDefect,
)


class _Reader:
    """One walk over the MIME tree: bodies, attachments, delivery reports."""

    def __init__(self, mail: ParsedMail, max_attachment_bytes: int):
        self.mail = mail
        self.max_attachment_bytes = max_attachment_bytes
        self.plain: list[str] = []
        self.html: list[str] = []
        self.delivery_status = False
        self.disposition_notification = False
        self.status_blocks: list[dict[str, str]] = []

    def read(self, message: Message) -> None:
        stack: list[tuple[Message, str]] = [(message, "")]
        count = 0
        while stack:
            part, parent = stack.pop()
            count += 1
            if count > MAX_PARTS:
                self.note(gettext("%(count)s more parts of the mail were not read") % {"count": len(stack) + 1})
                return
            try:
                children = self.part(part, parent, count)
            except Exception:
                self.note(gettext("A part of the mail could not be read"))
                continue
            if any(isinstance(defect, _DAMAGE) for defect in part.defects):
                self.note(gettext("A part of the mail was damaged in transit and may be incomplete"))
            stack.extend(reversed(children))

    def note(self, text: str) -> None:
        self.mail.skipped.append(text)

    def part(self, part: Message, parent: str, index: int) -> list[tuple[Message, str]]:
        content_type = _safe(part.get_content_type, "text/plain").lower()
        payload = part.get_payload()
        if content_type.startswith("multipart/"):
            if content_type == "multipart/report":
                report = _safe(lambda: part.get_param("report-type", ""), "").lower()
                self.delivery_status |= report == "delivery-status"
                self.disposition_notification |= report == "disposition-notification"
            if isinstance(payload, list):
                return [(child, content_type) for child in payload if isinstance(child, Message)]
            if payload:  # no boundary: the whole body is read as text
                self.plain.append(_text_of(part))
            return []
        if content_type in ("message/delivery-status", "message/global-delivery-status"):
            self.delivery_status = True
            self.status_blocks.extend(_delivery_status_blocks(part))
            return []
        if content_type in ("message/disposition-notification", "message/global-disposition-notification"):
            self.disposition_notification = True
            return []
        if content_type == "text/rfc822-headers":  # the returned headers of a bounce
            return []

        disposition = _safe(part.get_content_disposition, "")
        filename = _filename(_safe(part.get_filename, ""))
        if content_type in ("text/plain", "text/html") and disposition != "attachment" and not filename:
            (self.plain if content_type == "text/plain" else self.html).append(_text_of(part))
            return []
        if (
            content_type.startswith("image/")
            and disposition != "attachment"
            and parent == "multipart/related"
            and _part_header(part, "content-id")
        ):
            return []  # a picture of the HTML body (a logo in a signature)
        self.attachment(part, content_type, filename, index)
        return []

    def attachment(self, part: Message, content_type: str, filename: str, index: int) -> None:
        if content_type == "message/rfc822" or isinstance(part.get_payload(), list):
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if not isinstance(inner, Message):
                data = _payload_bytes(part)
            else:
                data = _message_bytes(inner)
                if not filename:
                    subject = _one_line(_header_text(_part_header(inner, "subject")), 100)
                    filename = _filename(f"{subject or gettext('message')}.eml")
        else:
            size = _encoded_size(part)
            if size > self.max_attachment_bytes:
                self.too_big(filename or content_type, size)
                return
            data = _payload_bytes(part)
        if not filename:
            extension = mimetypes.guess_extension(content_type, strict=False) or ".bin"
            filename = f"{gettext('attachment')}-{index}{extension}"
        if len(data) > self.max_attachment_bytes:
            self.too_big(filename, len(data))
            return
        self.mail.attachments.append(MailAttachment(filename=filename, content_type=content_type, data=data))

    def too_big(self, name: str, size: int) -> None:
        self.note(
            gettext("Attachment “%(name)s” (%(size)s) is larger than %(limit)s and was not kept")
            % {"name": name, "size": filesizeformat(size), "limit": filesizeformat(self.max_attachment_bytes)}
        )


def _message_bytes(message: Message) -> bytes:
    """A nested mail as bytes, its headers as they came (not refolded), 8-bit kept."""
    generating = email_policy.default.clone(refold_source="none", cte_type="8bit", linesep="\r\n")
    try:
        return message.as_bytes(policy=generating)
    except Exception:
        try:
            return message.as_bytes(policy=email_policy.compat32)
        except Exception:
            return b""


def parse_mail(raw: bytes, *, max_attachment_bytes: int = 20 * 1024 * 1024) -> ParsedMail:
    """Parse and classify one raw mail; never raises (see the module's docstring)."""
    raw = bytes(raw or b"")
    mail = ParsedMail(size=len(raw))
    try:
        _fill(mail, raw, max_attachment_bytes)
    except Exception:  # a case nothing above foresaw: keep what was read, and say so
        mail.skipped.append(gettext("The mail could not be read completely"))
    if not mail.message_id:
        mail.message_id = f"<{hashlib.sha256(raw).hexdigest()}@{SYNTHETIC_DOMAIN}>"
    return mail


def _fill(mail: ParsedMail, raw: bytes, max_attachment_bytes: int) -> None:
    message, broken = _parse_message(raw)
    if broken:
        mail.skipped.append(gettext("The structure of the mail could not be read: its body is kept as plain text"))
    headers = _raw_headers(message)

    mail.message_id = normalise_message_id(_first(headers, "message-id"))
    mail.in_reply_to = normalise_message_id(_FOLDING.sub("", _first(headers, "in-reply-to")))
    mail.references = _references(headers.get("references", []))
    mail.subject = _one_line(_header_text(_first(headers, "subject")), MAX_SUBJECT)
    senders = _addresses(headers.get("from", [])[:1])
    mail.sender = senders[0] if senders else None
    mail.to = _addresses(headers.get("to", []))
    mail.cc = _addresses(headers.get("cc", []))
    mail.reply_to = _addresses(headers.get("reply-to", []))
    mail.date = _date(_first(headers, "date"))

    reader = _Reader(mail, max_attachment_bytes)
    reader.read(message)
    html = "\n".join(reader.html)
    if html.strip():
        mail.html = _sanitised_html(html)
        if len(html) > MAX_HTML:
            mail.skipped.append(gettext("The HTML of the mail was cut at %(count)s characters") % {"count": MAX_HTML})
    text = "\n".join(reader.plain) if any(t.strip() for t in reader.plain) else _html_to_text(mail.html)
    if len(text) > MAX_TEXT:
        mail.skipped.append(gettext("The text of the mail was cut at %(count)s characters") % {"count": MAX_TEXT})
    mail.text = _body_text(text, MAX_TEXT)

    sender = mail.sender.email.lower() if mail.sender else ""
    from_daemon = sender.partition("@")[0] in _DAEMONS and bool(_FAILURE_SUBJECT.search(mail.subject))
    if reader.delivery_status or from_daemon:
        mail.kind = BOUNCE
        failed = _failed_recipients(reader.status_blocks)
        failed += [a.email.lower() for a in _addresses(headers.get("x-failed-recipients", []))]
        mail.bounced_recipients = list(dict.fromkeys(failed))
    elif reader.disposition_notification or _auto_reply(headers, mail.subject):
        mail.kind = AUTO_REPLY
