"""The answer to a locked-out account (django-axes' ``AXES_LOCKOUT_CALLABLE``).

The API (every path under /api/) answers JSON with a message, the pages answer HTML. The answer is
the same for a known and an unknown account: attempts are counted per username."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def lockout_message() -> str:
    return _("Too many failed attempts for this account. Wait an hour and try again, or ask an administrator.")


def is_api_request(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    status = settings.AXES_HTTP_RESPONSE_CODE
    if is_api_request(request):
        return JsonResponse({"detail": lockout_message()}, status=status)
    return render(request, settings.AXES_LOCKOUT_TEMPLATE, {"message": lockout_message()}, status=status)
