"""The audit trail: services call ``record`` inside their transaction."""

from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from suivi.lib.numbers import format_decimal

from .models import AuditEvent


def record(actor, verb: str, obj: models.Model, changes: dict[str, Any] | None = None) -> None:
    """Write one audit row saying that ``actor`` did ``verb`` to ``obj`` (with field ``changes``)."""
    AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        verb=verb,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        changes=changes or {},
    )


def diff(obj: models.Model, new_values: dict[str, Any]) -> dict[str, list[Any]]:
    """The fields of ``obj`` that ``new_values`` changes, as ``{field: [old, new]}`` (JSON-safe)."""
    out = {}
    for name, new in new_values.items():
        old = getattr(obj, name)
        if old != new:
            out[name] = [_plain(old), _plain(new)]
    return out


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, models.Model):
        return str(value)
    return str(value)


VERBS = {
    "create": pgettext_lazy("history", "created"),
    "update": pgettext_lazy("history", "changed"),
    "delete": pgettext_lazy("history", "deleted"),
    "status": pgettext_lazy("history", "changed the status"),
    "move": pgettext_lazy("history", "moved"),
    "archive": pgettext_lazy("history", "archived"),
    "restore": pgettext_lazy("history", "restored"),
    "link": pgettext_lazy("history", "linked"),
    "update_link": pgettext_lazy("history", "changed the link"),
    "unlink": pgettext_lazy("history", "unlinked"),
    "add_address": pgettext_lazy("history", "added an address"),
    "upload": pgettext_lazy("history", "uploaded"),
    "change_password": pgettext_lazy("history", "changed the password"),
    "update_preferences": pgettext_lazy("history", "changed the preferences"),
    "invite": pgettext_lazy("history", "invited"),
    "send_password_link": pgettext_lazy("history", "sent a password link"),
    "print": pgettext_lazy("history", "printed"),
    "email": pgettext_lazy("history", "e-mailed"),
    "attach": pgettext_lazy("history", "attached a file"),
    "detach": pgettext_lazy("history", "deleted a file"),
    "link_document": pgettext_lazy("history", "linked a document"),
}
# Keys of ``changes`` that are not fields of the model.
OTHER_KEYS = {
    "actions": _("actions"),
    "contacts": _("contacts"),
    "categories": _("categories"),
    "address": _("address"),
    "file": _("file"),
    "linked_document": _("linked document"),
    "lines": _("lines"),
}
# How the values of some keys read, by (model label, key): set by the app that records them
# (``describe``), e.g. the lines of a document.
DESCRIBED: dict[tuple[str, str], Callable[[Any], Any]] = {}


def describe(model_label: str, key: str, shown: Callable[[Any], Any]) -> None:
    """Show the values recorded under ``key`` for rows of ``model_label`` through ``shown``."""
    DESCRIBED[(model_label, key)] = shown


def _field(model, key: str):
    if model is None:
        return None
    try:
        return model._meta.get_field(key)
    except FieldDoesNotExist:
        return None  # a key that is not a field, or a field removed since the row was recorded


def _label(model, key: str) -> str:
    """The label of ``key`` in the user's language. Any recorded key reads: a reverse relation
    (which has no verbose name) by its model's plural, an unknown key as it was recorded."""
    if key in OTHER_KEYS:
        return str(OTHER_KEYS[key])
    field = _field(model, key)
    label = getattr(field, "verbose_name", None)
    if not label and getattr(field, "related_model", None) is not None:
        label = field.related_model._meta.verbose_name_plural
    return str(label or key.replace("_", " "))


def _shown(model, key: str, value: Any) -> Any:
    """A stored value as the user reads it: a choice by its label, yes / no for booleans, a
    decimal in the user's language, a list as its items."""
    if model is not None and (model._meta.label_lower, key) in DESCRIBED:
        try:
            return DESCRIBED[(model._meta.label_lower, key)](value)
        except (TypeError, ValueError, KeyError, AttributeError, ArithmeticError):
            pass  # a value recorded in an older shape: shown as it is below
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return "; ".join(str(_shown(model, key, v)) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    field = _field(model, key)
    if getattr(field, "choices", None):
        return dict(field.flatchoices).get(value, value)
    if isinstance(field, models.DecimalField) and isinstance(value, (str, int, float)) and value != "":
        places = field.decimal_places or 0
        return format_decimal(value, min_places=2 if places == 2 else 0, max_places=places) or value
    return value


def readable(event: AuditEvent) -> AuditEvent:
    """``event`` with ``verb_label`` and ``lines`` (field label, before, after) in the user's
    language, for history panels."""
    try:
        model = apps.get_model(event.object_type)
    except (LookupError, ValueError):
        model = None
    event.verb_label = VERBS.get(event.verb, event.verb)  # type: ignore[attr-defined]  # for the page only
    event.lines = [  # type: ignore[attr-defined]
        (_label(model, key), _shown(model, key, pair[0]), _shown(model, key, pair[1]))
        for key, pair in (event.changes or {}).items()
        if isinstance(pair, list | tuple) and len(pair) == 2
    ]
    return event


def history(obj: models.Model, limit: int = 50) -> list[AuditEvent]:
    """The audit rows of ``obj``, newest first, readable (see ``readable``)."""
    events = AuditEvent.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk)).select_related(
        "actor"
    )[:limit]
    return [readable(e) for e in events]
