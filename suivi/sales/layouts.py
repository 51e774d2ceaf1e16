"""Layout templates: checked at save (syntax, unknown fields, limits, each with its line) and
rendered for a document in the sandbox, with the allow-listed fields of ``merge_fields``."""

import re
import traceback
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _
from jinja2 import TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError, TemplateError

from suivi.lib.html import sanitise_document

from . import merge_fields
from .sandbox import MAX_TEMPLATE_CHARS, Sandbox, render

TEMPLATE_NAME = "<layout>"


@dataclass
class TemplateProblem:
    line: int | None
    message: str

    def __str__(self) -> str:
        if self.line:
            return _("Line %(line)s: %(message)s") % {"line": self.line, "message": self.message}
        return self.message


class TemplateFailed(Exception):
    """A stored template that no longer renders (it was checked at save; data can still differ)."""

    def __init__(self, problem: TemplateProblem):
        super().__init__(str(problem))
        self.problem = problem


def _number(value: Any, language: str, places: int) -> str:
    if value is None or value == "":
        return ""
    amount = Decimal(str(value)).quantize(Decimal(1).scaleb(-places)) if places >= 0 else Decimal(str(value))
    text = f"{amount:,}"
    whole, _dot, fraction = text.partition(".")
    thousands, decimal = {"en": (",", "."), "nl": (".", ",")}.get(language, ("\u202f", ","))
    whole = whole.replace(",", thousands)
    return f"{whole}{decimal}{fraction}" if fraction else whole


def _filters(language: str) -> dict[str, Any]:
    def amount(value: Any) -> str:
        return _number(value, language, 2)

    def money(value: Any, currency: str = "€") -> str:
        return f"{amount(value)}\u00a0{currency}"

    def quantity(value: Any) -> str:
        number = Decimal(str(value)).normalize()
        places = max(-number.as_tuple().exponent, 0) if isinstance(number.as_tuple().exponent, int) else 0
        return _number(number, language, places)

    return {"amount": amount, "money": money, "quantity": quantity}


@cache
def environment(language: str, html: bool) -> Sandbox:
    return Sandbox(html=html, filters=_filters(language))


def _line_of(error: BaseException) -> int | None:
    line = getattr(error, "lineno", None)
    if line:
        return line
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if frame.filename == TEMPLATE_NAME:
            return frame.lineno
    return None


def problem_of(error: BaseException) -> TemplateProblem:
    """``error`` of Jinja as a message in the user's language, with its line."""
    line = _line_of(error)
    if isinstance(error, TemplateSyntaxError):
        return TemplateProblem(line, _("the template cannot be read (%(detail)s).") % {"detail": error.message})
    if isinstance(error, UndefinedError):
        found = re.findall(r"'([^']+)'", str(error))
        name = found[-1] if found else str(error)
        return TemplateProblem(line, _("unknown field “%(name)s”.") % {"name": name})
    if isinstance(error, SecurityError):
        return TemplateProblem(line, _("not allowed in a template: %(detail)s.") % {"detail": str(error)})
    if isinstance(error, RecursionError):
        return TemplateProblem(line, _("the template calls itself too deeply."))
    return TemplateProblem(line, _("the template fails: %(detail)s.") % {"detail": str(error)[:200]})


def _unknown_names(source: str, env: Sandbox, roots: dict[str, Any]) -> list[TemplateProblem]:
    """Fields the template names outside the allow-list, found without running it (so a field in
    a branch the specimen does not take is reported too)."""
    tree = env.parse(source)
    problems = []
    undeclared = meta.find_undeclared_variables(tree) - {"__loop_guard"}
    for name in sorted(undeclared - set(roots)):
        first = next((n for n in tree.find_all(nodes.Name) if n.name == name), None)
        problems.append(
            TemplateProblem(first.lineno if first else None, _("unknown field “%(name)s”.") % {"name": name})
        )
    for node in tree.find_all(nodes.Getattr):
        if isinstance(node.node, nodes.Name) and node.node.name in roots:
            allowed = roots[node.node.name]
            if isinstance(allowed, dict) and node.attr not in allowed:
                problems.append(
                    TemplateProblem(
                        node.lineno,
                        _("unknown field “%(name)s”. Fields of %(root)s: %(fields)s.")
                        % {
                            "name": f"{node.node.name}.{node.attr}",
                            "root": node.node.name,
                            "fields": ", ".join(allowed),
                        },
                    )
                )
    return problems


def check_template(source: str, *, html: bool, language: str = "fr") -> list[TemplateProblem]:
    """What is wrong with a user template, each problem with its line; empty when it renders.

    It is parsed, checked against the allow-list of fields, then rendered with a specimen
    document within the sandbox's limits.
    """
    if len(source) > MAX_TEMPLATE_CHARS:
        return [
            TemplateProblem(None, _("A template holds at most %(limit)s characters.") % {"limit": MAX_TEMPLATE_CHARS})
        ]
    env = environment(language, html)
    specimen = merge_fields.specimen()
    try:
        problems = _unknown_names(source, env, specimen)
        if problems:
            return problems
        _render(env, source, specimen)
    except (TemplateError, RecursionError, ArithmeticError, TypeError, ValueError) as e:
        return [problem_of(e)]
    return []


def _render(env: Sandbox, source: str, context: dict[str, Any]) -> str:
    code = env.compile(source, name=TEMPLATE_NAME, filename=TEMPLATE_NAME)
    template = env.template_class.from_code(env, code, env.make_globals(None), None)
    return render(template, context)


def render_template(source: str, context: dict[str, Any], *, html: bool, language: str) -> str:
    """``source`` rendered with ``context`` (plain values); TemplateFailed if it fails."""
    try:
        with translation.override(language):
            return _render(environment(language, html), source, context)
    except (TemplateError, RecursionError, ArithmeticError, TypeError, ValueError) as e:
        raise TemplateFailed(problem_of(e)) from e


def render_layout_html(layout, context: dict[str, Any]) -> str:
    """The body of the printed document: the layout's template, rendered, then sanitised."""
    return sanitise_document(render_template(layout.html_template, context, html=True, language=layout.language))


def render_subject(layout, context: dict[str, Any]) -> str:
    text = render_template(layout.email_subject_template, context, html=False, language=layout.language)
    return " ".join(text.split())[:300]  # one line: no header can be injected


def render_body(layout, context: dict[str, Any]) -> str:
    return render_template(layout.email_body_template, context, html=False, language=layout.language)
