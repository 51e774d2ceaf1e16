"""Errors a user can cause, each with a message in the user's language."""


class SuiviError(Exception):
    """Base of the errors services raise for users; ``message`` is shown as it is."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class ConflictError(SuiviError):
    """The record changed since the user opened it (optimistic locking); nothing was saved."""


class PermissionDenied(SuiviError):
    """The acting user may not do this."""
