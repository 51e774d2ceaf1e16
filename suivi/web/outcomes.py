"""How a refusal of a service reads on a page: its HTTP status (the message is the error's)."""

from suivi.core.errors import ConflictError, PermissionDenied, SuiviError, VersionRequired


def status_of(error: SuiviError) -> int:
    if isinstance(error, VersionRequired):
        return 428
    if isinstance(error, ConflictError):
        return 409
    if isinstance(error, PermissionDenied):
        return 403
    return 400


def show_on_form(form, error: SuiviError) -> int:
    """Put ``error`` on ``form`` (each field's message beside its field) and return the status."""
    errors = getattr(error, "errors", None)
    if errors:
        for field, message in errors.items():
            form.add_error(field if field in form.fields else None, message)
    else:
        form.add_error(None, error.message)
    return status_of(error)
