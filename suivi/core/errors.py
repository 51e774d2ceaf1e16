"""Errors a user can cause, each with a message in the user's language, and the one
lock-and-check helper of optimistic locking that every update goes through."""

from typing import Any, Final

from django.db import models
from django.utils.translation import gettext as _


class SuiviError(Exception):
    """Base of the errors services raise for users; ``message`` is shown as it is."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class ConflictError(SuiviError):
    """The record changed since the user opened it (optimistic locking); nothing was saved."""


class VersionRequired(SuiviError):
    """An update that does not say which version it started from (HTTP 428): refused, since it
    could silently overwrite someone else's save."""


class PermissionDenied(SuiviError):
    """The acting user may not do this."""


class InvalidInput(SuiviError):
    """Values refused by a service; ``errors`` maps each field to its message. Nothing was saved."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


# Commands whose meaning does not depend on what the user saw (a status button, a bulk action,
# a move on the board) are applied to the latest version; edits of a form never are.
LATEST: Final = "latest"


def lock_for_update(model: type[models.Model], pk: Any, expected_version: int | str | None, conflict: str):
    """Lock the row ``pk`` of ``model`` for this transaction and check that it is still at
    ``expected_version``, the version the user started from.

    No version: VersionRequired (428). Another version: ConflictError (409) with ``conflict``.
    ``LATEST`` skips the comparison, for commands (see above).
    """
    if expected_version is None or expected_version == "":
        raise VersionRequired(
            _(
                "This change does not say which version of the record it was made on, so it could "
                "overwrite someone else's: nothing was saved. Reload the page and make it again "
                "(API: send the version you read in the field “version” or an If-Match header)."
            )
        )
    obj = model._default_manager.select_for_update().get(pk=pk)
    if expected_version != LATEST:
        try:
            expected = int(expected_version)
        except (TypeError, ValueError) as e:
            raise InvalidInput({"version": _("The version is a whole number.")}) from e
        if obj.version != expected:  # type: ignore[attr-defined]  # every locked model has `version`
            raise ConflictError(conflict)
    return obj
