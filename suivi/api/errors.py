"""JSON errors with field-level messages; domain errors mapped to their HTTP status."""

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler

from suivi.core.errors import ConflictError, InvalidInput, PermissionDenied, SuiviError, VersionRequired
from suivi.core.expressions import ExpressionError


def exception_handler(exc, context):
    if isinstance(exc, InvalidInput):
        return Response({"errors": exc.errors}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ExpressionError):
        return Response({"errors": {"followed_by_expression": exc.message}}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, VersionRequired):
        return Response({"detail": exc.message}, status=status.HTTP_428_PRECONDITION_REQUIRED)
    if isinstance(exc, ConflictError):
        return Response({"detail": exc.message}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, PermissionDenied):
        return Response({"detail": exc.message}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, SuiviError):
        return Response({"detail": exc.message}, status=status.HTTP_400_BAD_REQUEST)
    response = drf_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" not in response.data:
        response.data = {"errors": response.data}
    return response
