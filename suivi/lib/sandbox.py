"""The sandbox that user templates (layouts, e-mail subjects and bodies) run in.

Jinja2's ``ImmutableSandboxedEnvironment`` already refuses underscore attributes, unsafe
callables and mutating methods. On top of it, this module bounds what a template can cost:
every loop and every call checks a deadline, ``*``, ``**`` and ``%`` are checked before they
run, output is counted while it is produced, and only an allow-list of filters and no globals
but a small ``range`` exist. Templates only ever see plain dicts, strings and numbers.
"""

import contextvars
import time
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from jinja2 import StrictUndefined, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_TEMPLATE_CHARS = 100_000
MAX_OUTPUT_CHARS = 2_000_000
MAX_SECONDS = 5.0
MAX_SEQUENCE = 10_000  # range(), and the length a `*` may make
MAX_NUMBER = 10**12

_deadline: contextvars.ContextVar[float] = contextvars.ContextVar("template_deadline", default=0.0)

SAFE_FILTERS = {
    "abs",
    "capitalize",
    "count",
    "d",
    "default",
    "dictsort",
    "e",
    "escape",
    "first",
    "float",
    "groupby",
    "int",
    "last",
    "length",
    "list",
    "lower",
    "map",
    "max",
    "min",
    "reject",
    "rejectattr",
    "reverse",
    "round",
    "select",
    "selectattr",
    "sort",
    "string",
    "striptags",
    "sum",
    "title",
    "trim",
    "truncate",
    "unique",
    "upper",
    "wordcount",
}


class TemplateLimit(SecurityError):
    """The template went past a limit of time, size or number."""


def check_deadline() -> None:
    deadline = _deadline.get()
    if deadline and time.monotonic() > deadline:
        raise TemplateLimit(f"the template ran for more than {MAX_SECONDS:g} seconds")


def _guarded(iterable: Iterable[Any]) -> Iterator[Any]:
    for n, item in enumerate(iterable):
        if n % 64 == 0:
            check_deadline()
        yield item


def _small(value: Any) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_NUMBER:
        raise TemplateLimit(f"numbers above {MAX_NUMBER} are not allowed here")


def _range(*args: int) -> range:
    for a in args:
        if not isinstance(a, int):
            raise TemplateLimit("range() takes whole numbers")
    values = range(*args)
    if len(values) > MAX_SEQUENCE:
        raise TemplateLimit(f"range() is limited to {MAX_SEQUENCE} numbers")
    return values


def _join(values: Iterable[Any], separator: str = "") -> str:
    parts = [str(v) for v in _guarded(values)]
    if sum(map(len, parts)) + len(separator) * max(len(parts) - 1, 0) > MAX_OUTPUT_CHARS:
        raise TemplateLimit("the joined text is too long")
    return separator.join(parts)


class Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset(["*", "**", "%", "//", "/"])

    def __init__(self, *, html: bool, filters: dict[str, Any]):
        super().__init__(autoescape=html, undefined=StrictUndefined, auto_reload=False, cache_size=200)
        self.filters = {name: f for name, f in self.filters.items() if name in SAFE_FILTERS}
        self.filters["join"] = _join
        self.filters.update(filters)
        self.globals = {"range": _range}

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        """Every ``for`` loop iterates through a guard that checks the deadline."""
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Call(
                nodes.Name("__loop_guard", "load", lineno=loop.lineno),
                [loop.iter],
                [],
                None,
                None,
                lineno=loop.lineno,
            )
        return tree

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805  (Jinja's signature)
        check_deadline()
        for value in (*args, *kwargs.values()):
            _small(value)
        if getattr(__obj, "__name__", "") in {
            "format",
            "format_map",
            "ljust",
            "rjust",
            "center",
            "zfill",
            "expandtabs",
        }:
            raise TemplateLimit(f"{__obj.__name__}() is not allowed in templates")
        return super().call(__context, __obj, *args, **kwargs)

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        check_deadline()
        if operator == "%" and isinstance(left, str):
            raise TemplateLimit("text formatting with % is not allowed: join texts with ~")
        if operator == "**" and (not isinstance(right, (int, float, Decimal)) or abs(right) > 64):  # type: ignore[operator]
            raise TemplateLimit("powers above 64 are not allowed")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int):
                    if len(seq) * times > MAX_SEQUENCE * 10:
                        raise TemplateLimit("the repeated text is too long")
        _small(left)
        _small(right)
        return super().call_binop(context, operator, left, right)


def render_within_limits(template, context: dict[str, Any]) -> str:
    """Render a compiled sandbox template within the time and size limits."""
    token = _deadline.set(time.monotonic() + MAX_SECONDS)
    try:
        out: list[str] = []
        size = 0
        for chunk in template.generate({**context, "__loop_guard": _guarded}):
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise TemplateLimit(f"the output is longer than {MAX_OUTPUT_CHARS} characters")
            out.append(chunk)
            check_deadline()
        return "".join(out)
    finally:
        _deadline.reset(token)
