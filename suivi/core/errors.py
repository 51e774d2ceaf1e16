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


class InvalidInput(SuiviError):
    """Values refused by a service; ``errors`` maps each field to its message. Nothing was saved."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def check_version(obj, expected_version: int | None, message: str) -> None:
    """Optimistic locking: raise ConflictError when ``obj`` changed since the user read it."""
    if expected_version is not None and obj.version != int(expected_version):
        raise ConflictError(message)
