"""Per-request context from the user and the device."""

import secrets

from django.core import signing
from django.utils import translation

DEVICE_COOKIE = "suivi_device"
DEVICE_COOKIE_AGE = 10 * 365 * 24 * 3600  # a device keeps its identity for years
_SALT = "suivi.device"


class DeviceMiddleware:
    """Give each browser a long-lived signed identifier: ``request.device_id``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raw = request.COOKIES.get(DEVICE_COOKIE, "")
        try:
            device_id = signing.loads(raw, salt=_SALT) if raw else None
        except signing.BadSignature:
            device_id = None
        new = device_id is None
        request.device_id = device_id or secrets.token_hex(16)
        response = self.get_response(request)
        if new:
            response.set_cookie(
                DEVICE_COOKIE,
                signing.dumps(request.device_id, salt=_SALT),
                max_age=DEVICE_COOKIE_AGE,
                httponly=True,
                samesite="Lax",
                secure=request.is_secure(),
            )
        return response


class UserLanguageMiddleware:
    """Speak the language the signed-in user chose; otherwise the browser's, else French."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings

        language = request.session.get("suivi_language") or translation.get_language_from_request(request)
        if language not in {code for code, _name in settings.LANGUAGES}:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response
