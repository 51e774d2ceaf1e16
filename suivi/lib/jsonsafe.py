"""JSON from outside, read with limits: nesting depth and characters that cannot be stored.

``json.loads`` recurses once per level: a body nested 100,000 deep exhausts Python's stack. The
decoded value is then walked without recursion, so that a depth limit and the text check cost
nothing more than one pass.
"""

import json
from typing import Any

from .unicode import unstorable

MAX_JSON_DEPTH = 32


class JSONInputError(ValueError):
    """The JSON is readable but refused; ``reason`` is ``"depth"`` or ``"character"``."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def check_json_value(value: Any, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Raise JSONInputError if ``value`` nests deeper than ``max_depth`` or holds unstorable text."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if unstorable(item):
                raise JSONInputError("character")
        elif isinstance(item, (list, dict)):
            if depth > max_depth:
                raise JSONInputError("depth")
            if isinstance(item, dict):
                for key, child in item.items():
                    if unstorable(key):
                        raise JSONInputError("character")
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)


def loads(text: str | bytes, max_depth: int = MAX_JSON_DEPTH, **kwargs) -> Any:
    """``json.loads`` that raises JSONInputError instead of RecursionError or unstorable text."""
    try:
        value = json.loads(text, **kwargs)
    except RecursionError as e:
        raise JSONInputError("depth") from e
    check_json_value(value, max_depth)
    return value
