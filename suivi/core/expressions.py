"""The one expression language of Suivi (S9, search bars, later reports and mailing selections).

An expression such as ``is_active = True and groups.name in ("Sales", "Support")`` is parsed by
djangoql into a syntax tree, checked against an allow-list schema of fields, and compiled to a
Django ``Q`` object. It is never evaluated as Python, and only the fields a schema lists can be
reached. Errors become ``ExpressionError`` with a message in the user's language and the
position of the fault.
"""

import re
from dataclasses import dataclass

from django.core.exceptions import EmptyResultSet, FieldError, ValidationError
from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext as _
from djangoql import ast as ql
from djangoql.exceptions import DjangoQLError, DjangoQLSyntaxError
from djangoql.parser import DjangoQLParser
from djangoql.queryset import build_filter
from djangoql.schema import DjangoQLSchema

from suivi.lib.ids import in_id_range
from suivi.lib.unicode import unstorable

MAX_EXPRESSION_LENGTH = 2000
# Groups of ``and`` inside ``or`` inside ``and``…: each change of connector is one level of
# parentheses in SQL (SQLite's parser overflows near 30). A chain of one connector is flat.
MAX_EXPRESSION_NESTING = 10
MAX_EXPRESSION_TERMS = 200

__all__ = [
    "ExpressionError",
    "ExpressionSchema",
    "compile_expression",
    "filter_by_expression",
    "validate_expression",
]


class ExpressionSchema(DjangoQLSchema):
    """An allow-list of the fields an expression may name, per model.

    Subclasses set ``include`` (the models reachable) and ``fields`` (model → field names).
    """

    fields: dict[type[Model], list[str]] = {}

    def get_fields(self, model):
        return list(self.fields.get(model, []))


@dataclass
class ExpressionError(ValueError):
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        return self.message


_UNKNOWN_FIELD = re.compile(r"Unknown field: (?P<name>[\w.]+)\. Possible choices are: (?P<choices>.*)")


def _locate(text: str, name: str) -> tuple[int | None, int | None]:
    match = re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", text)
    if not match:
        return None, None
    before = text[: match.start()]
    return before.count("\n") + 1, match.start() - (before.rfind("\n") + 1) + 1


def _translate(error: DjangoQLError, text: str) -> ExpressionError:
    if isinstance(error, DjangoQLSyntaxError):
        near = error.value if error.value not in (None, "") else _("end of the expression")
        if error.value is None:
            return ExpressionError(_("The expression is incomplete: it ends too early."))
        return ExpressionError(
            _("Syntax error near “%(near)s” at line %(line)s, column %(column)s.")
            % {"near": near, "line": error.line or 1, "column": error.column or 1},
            error.line,
            error.column,
        )
    message = str(error)
    if m := _UNKNOWN_FIELD.match(message):
        line, column = _locate(text, m["name"])
        where = _(" (line %(line)s, column %(column)s)") % {"line": line, "column": column} if line else ""
        return ExpressionError(
            _("Unknown field “%(name)s”%(where)s. Fields you can use: %(choices)s.")
            % {"name": m["name"], "where": where, "choices": m["choices"]},
            line,
            column,
        )
    return ExpressionError(_("Invalid expression: %(reason)s") % {"reason": message})


def _check_tree(tree) -> None:
    """Refuse, before anything is built, what would fail later in the database: nesting beyond
    the limits, text holding NUL or a lone surrogate, integers beyond 64 bits. Walked without
    recursion (a chain of 300 terms is 300 levels deep)."""
    stack = [(tree, 0, 0, None)]  # node, depth, nesting, connector of the parent
    while stack:
        node, depth, nesting, parent = stack.pop()
        if depth > MAX_EXPRESSION_TERMS:
            raise ExpressionError(
                _("The expression has too many conditions (%(max)s at most).") % {"max": MAX_EXPRESSION_TERMS}
            )
        if isinstance(node, ql.Expression):
            connector = node.operator.operator if isinstance(node.operator, ql.Logical) else None
            if connector and parent and connector != parent:
                nesting += 1
                if nesting > MAX_EXPRESSION_NESTING:
                    raise ExpressionError(
                        _("The expression is nested too deeply (%(max)s levels of parentheses at most).")
                        % {"max": MAX_EXPRESSION_NESTING}
                    )
            stack.append((node.left, depth + 1, nesting, connector or parent))
            stack.append((node.right, depth + 1, nesting, connector or parent))
        elif isinstance(node, ql.List):
            stack.extend((item, depth + 1, nesting, parent) for item in node.items)
        elif isinstance(node, ql.Const):
            value = node.value
            if isinstance(value, str) and unstorable(value):
                raise ExpressionError(
                    _("The expression holds a character that cannot be searched for (NUL or a lone surrogate).")
                )
            if isinstance(value, int) and not isinstance(value, bool) and not in_id_range(value):
                raise ExpressionError(_("The number %(value)s in the expression is too large.") % {"value": value})
            if isinstance(value, float) and value in (float("inf"), float("-inf")):
                raise ExpressionError(_("A number in the expression is too large."))


def _try_sql(q: Q, model: type[Model]) -> None:
    """Build the SQL of ``q`` once, without running it: values the database cannot take (a date
    that leaves the calendar in UTC, a text compared with a date) fail here, as a message."""
    try:
        model._default_manager.filter(q).query.sql_with_params()
    except EmptyResultSet:
        pass  # a condition that can select nothing (an id beyond the range): a valid, empty search


def compile_expression(text: str, model: type[Model], schema: type[ExpressionSchema]) -> Q:
    """Parse ``text`` and return the ``Q`` it stands for over ``model``; an empty text is ``Q()``."""
    text = (text or "").strip()
    if not text:
        return Q()
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(
            _("The expression is too long (%(max)s characters at most).") % {"max": MAX_EXPRESSION_LENGTH}
        )
    try:
        ast = DjangoQLParser().parse(text)
        _check_tree(ast)
        schema_instance = schema(model)
        schema_instance.validate(ast)
        q = build_filter(ast, schema_instance)
        _try_sql(q, model)
        return q
    except ExpressionError:
        raise
    except DjangoQLError as e:
        raise _translate(e, text) from e
    except ValidationError as e:
        raise ExpressionError(_("Invalid expression: %(reason)s") % {"reason": " ".join(e.messages)}) from e
    except (OverflowError, RecursionError) as e:
        raise ExpressionError(
            _("The expression cannot be run: a value is outside what the database can compare.")
        ) from e
    except (ValueError, TypeError, FieldError) as e:
        # djangoql lets a few malformed literals through as Python errors.
        raise ExpressionError(_("Invalid expression: %(reason)s") % {"reason": e}) from e


def filter_by_expression(queryset: QuerySet, text: str, schema: type[ExpressionSchema]) -> QuerySet:
    """``queryset`` narrowed to the rows ``text`` selects (distinct: relations may repeat rows)."""
    q = compile_expression(text, queryset.model, schema)
    if not q:
        return queryset
    return queryset.filter(pk__in=queryset.model._default_manager.filter(q).values("pk"))


def validate_expression(text: str, model: type[Model], schema: type[ExpressionSchema]) -> None:
    """Raise ``ExpressionError`` if ``text`` would not compile (used on save, before anything is kept)."""
    compile_expression(text, model, schema)
