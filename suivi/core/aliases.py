"""Field names and values of expressions in the user's language.

Users type ``statut = "à faire"`` or ``onderwerp ~ "offerte"``: before parsing, each bare name
found in a schema's ``aliases`` becomes the field it stands for, and a quoted value compared with
a field of ``value_aliases`` becomes the stored value. Text inside quotes is never renamed, so a
subject containing "statut" stays as typed. The English names always work.
"""

import re

from suivi.lib.text import fold

# A quoted string (with escapes) or a name (dotted path, letters of any language).
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[^\W\d][\w.]*', re.UNICODE)


def rewrite(text: str, aliases: dict[str, str], value_aliases: dict[str, dict[str, str]]) -> str:
    """``text`` with localised field names and values replaced by the schema's own."""
    out: list[str] = []
    last_field = None
    position = 0
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        out.append(text[position : match.start()])
        position = match.end()
        if token.startswith('"'):
            values = value_aliases.get(last_field or "", {})
            inner = token[1:-1]
            token = f'"{values.get(fold(inner), inner)}"' if fold(inner) in values else token
        else:
            head, _dot, rest = token.partition(".")
            name = aliases.get(fold(head), head)
            token = f"{name}.{rest}" if rest else name
            if fold(token) not in ("and", "or", "not", "in", "true", "false", "none"):
                last_field = token
        out.append(token)
    out.append(text[position:])
    return "".join(out)
