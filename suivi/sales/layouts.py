"""Layout templates: checked at save (syntax, unknown fields, limits, each with its line) and
rendered for a document in the sandbox, with the allow-listed fields of ``merge_fields``."""

from decimal import Decimal
from functools import cache
from typing import Any

from suivi.lib.html import sanitise_document
from suivi.lib.sandbox import Sandbox
from suivi.lib.user_templates import TemplateFailed, TemplateProblem, check, render

from . import merge_fields

__all__ = ["TemplateFailed", "TemplateProblem", "check_template", "render_template"]


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


def check_template(source: str, *, html: bool, language: str = "fr") -> list[TemplateProblem]:
    """What is wrong with a layout template, each problem with its line (checked against a
    specimen document); empty when it renders."""
    return check(source, environment(language, html), merge_fields.specimen())


def render_template(source: str, context: dict[str, Any], *, html: bool, language: str) -> str:
    """``source`` rendered with ``context`` (plain values); TemplateFailed if it fails."""
    return render(source, environment(language, html), context, language)


def render_layout_html(layout, context: dict[str, Any]) -> str:
    """The body of the printed document: the layout's template, rendered, then sanitised."""
    return sanitise_document(render_template(layout.html_template, context, html=True, language=layout.language))


def render_subject(layout, context: dict[str, Any]) -> str:
    text = render_template(layout.email_subject_template, context, html=False, language=layout.language)
    return " ".join(text.split())[:300]  # one line: no header can be injected


def render_body(layout, context: dict[str, Any]) -> str:
    return render_template(layout.email_body_template, context, html=False, language=layout.language)
