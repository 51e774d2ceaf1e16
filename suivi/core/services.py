"""Writes of the core app: company settings."""

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from . import audit
from .errors import PermissionDenied, lock_for_update
from .followed_by import validate_followed_by_expression
from .models import CompanySettings

EDITABLE_SETTINGS = (
    "company_name",
    "country",
    "crm_enabled",
    "crm_level",
    "action_form_layout",
    "billing_in_main_tab",
    "opportunities_enabled",
    "default_sending_method",
    "mailing_delay_seconds",
    "followed_by_expression",
)


@transaction.atomic
def update_company_settings(
    *, acting_user, values: dict[str, Any], expected_version: int | str | None
) -> CompanySettings:
    """Change the company settings. Administrators only; the S9 expression is validated first.

    ``expected_version`` is the version the user edited: without it VersionRequired, and if
    someone saved in between, nothing is saved and ConflictError is raised.
    """
    if not getattr(acting_user, "is_administrator", False):
        raise PermissionDenied(_("Only administrators may change the company settings."))
    unknown = set(values) - set(EDITABLE_SETTINGS)
    if unknown:
        raise ValueError(f"not a company setting: {sorted(unknown)}")
    if "followed_by_expression" in values:
        validate_followed_by_expression(values["followed_by_expression"])
    CompanySettings.objects.get_or_create(pk=1)
    obj = lock_for_update(
        CompanySettings,
        1,
        expected_version,
        _(
            "Someone else changed the settings while you were editing them. "
            "Reload the page to see their changes; yours were not saved."
        ),
    )
    changes = audit.diff(obj, values)
    for name, value in values.items():
        setattr(obj, name, value)
    obj.full_clean()
    if changes:
        obj.version += 1
        obj.save()
        audit.record(acting_user, "update", obj, changes)
    return obj
