"""The one expression language of Suivi (S9, search bars, later reports and mailing selections).

An expression such as ``is_active = True and groups.name in ("Sales", "Support")`` is parsed by
djangoql into a syntax tree, checked against an allow-list schema of fields, and compiled to a
Django ``Q`` object. It is never evaluated as Python, and only the fields a schema lists can be
reached. Errors become ``ExpressionError`` with a message in the user's language and the
position of the fault.
"""

import re
from dataclasses import dataclass

from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext as _
from djangoql.exceptions import DjangoQLError, DjangoQLSyntaxError
from djangoql.parser import DjangoQLParser
from djangoql.queryset import build_filter
from djangoql.schema import DjangoQLSchema

MAX_EXPRESSION_LENGTH = 2000

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
        schema_instance = schema(model)
        schema_instance.validate(ast)
        return build_filter(ast, schema_instance)
    except DjangoQLError as e:
        raise _translate(e, text) from e
    except (ValueError, TypeError, RecursionError) as e:
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
