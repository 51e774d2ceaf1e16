"""The audit trail: services call ``record`` inside their transaction."""

from typing import Any

from django.db import models

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


def history(obj: models.Model, limit: int = 50):
    """The audit rows of ``obj``, newest first."""
    return AuditEvent.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk)).select_related("actor")[
        :limit
    ]
