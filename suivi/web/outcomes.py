"""How a refusal of a service reads on a page: its HTTP status (the message is the error's)."""

from django.contrib import messages
from django.shortcuts import redirect, render

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


def after_command(request, error: SuiviError | None, back_url: str):
    """The answer to a command button (status, archive…): back to ``back_url`` when it was done
    or refused by its workflow (the message says why); a refusal of who or which version is a
    page of its own with its status (403, 409, 428), so that nobody reads it as done."""
    if error is None or status_of(error) == 400:
        if error is not None:
            messages.error(request, error.message)
        return redirect(back_url)
    return render(
        request,
        "web/refused.html",
        {"message": error.message, "back_url": back_url, "forbidden": status_of(error) == 403},
        status=status_of(error),
    )
