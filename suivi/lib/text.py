"""Text folding for search keys: case- and accent-insensitive, the same on every database."""

import re
import unicodedata

_WORD = re.compile(r"[\w]+", re.UNICODE)


def fold(text: str) -> str:
    """Lower-case ``text`` and strip its accents: ``"Électricité"`` → ``"electricite"``."""
    if not text or text.isascii():
        return (text or "").lower()  # the same as below for ASCII, ten times faster
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words(text: str, *, max_length: int = 60) -> list[str]:
    """The folded words of ``text``, each cut to ``max_length``, in order, without repeats."""
    seen: dict[str, None] = {}
    for w in _WORD.findall(fold(text)):
        seen.setdefault(w[:max_length], None)
    return list(seen)


def one_line(text: str) -> str:
    """``text`` on one line: line breaks, tabs and other control or format characters become
    spaces and runs of spaces one (a header or a subject can then carry nothing else)."""
    cleaned = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in str(text or ""))
    return " ".join(cleaned.split())
