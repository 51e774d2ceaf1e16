"""The audit trail: services call ``record`` inside their transaction."""

from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

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
}


def _label(model, key: str) -> str:
    if key in OTHER_KEYS:
        return str(OTHER_KEYS[key])
    try:
        return str(model._meta.get_field(key).verbose_name) if model else key
    except FieldDoesNotExist:
        return key


def _shown(model, key: str, value: Any) -> Any:
    """A stored value as the user reads it: a choice by its label, yes / no for booleans."""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    try:
        field = model._meta.get_field(key) if model else None
    except FieldDoesNotExist:
        field = None
    if field is not None and field.choices:
        return dict(field.flatchoices).get(value, value)
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
