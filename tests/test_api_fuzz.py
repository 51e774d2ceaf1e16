"""Schemathesis against the OpenAPI document (RELIABILITY S1): generated requests to every
operation, as an authenticated user; no 5xx and no response outside the schema."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from suivi.wsgi import application

from . import factories

# Read once at collection, from the application itself (no server, no database needed).
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    # Requests go to the WSGI app directly; like Django's test client, keep the test's database
    # connection open across them (Django closes it when a request finishes).
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(admin_user):
    party = factories.party(admin_user, name="Fuzz target")
    factories.action(admin_user, party=party)
    factories.folder(admin_user, party=party)
    return Token.objects.create(user=admin_user).key


@schema.parametrize()
@settings(max_examples=45, deadline=None, suppress_health_check=list(HealthCheck))
def test_generated_requests_get_no_server_error_and_valid_responses(case, token):
    if case.path == "/api/v1/auth/token":
        return  # throttled by design: repeated failures would lock the account
    case.call_and_validate(
        headers={"Authorization": f"Token {token}"},
        checks=[not_a_server_error, response_schema_conformance],
    )
