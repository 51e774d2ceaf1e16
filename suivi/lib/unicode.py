"""Characters no database stores as text.

A lone UTF-16 surrogate (U+D800–U+DFFF, e.g. from a JSON ``"\\ud800"`` escape) cannot be encoded in
UTF-8, and PostgreSQL refuses the NUL character in text. Either one in a query or a saved value
fails inside the database driver, so input holding one is refused (or, for a search, cleaned)
before it gets there.
"""

import re

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(text: str) -> bool:
    """True if ``text`` holds a character that cannot be stored (NUL or a lone surrogate)."""
    return bool(_UNSTORABLE.search(text))


def strip_unstorable(text: str) -> str:
    """``text`` without the characters that cannot be stored."""
    return _UNSTORABLE.sub("", text)
