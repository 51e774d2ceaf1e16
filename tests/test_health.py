from unittest import mock

from django.db.utils import OperationalError


def test_healthz_answers_200_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_healthz_answers_503_when_the_database_is_unreachable(client):
    with mock.patch(
        "django.db.backends.utils.CursorWrapper.execute", side_effect=OperationalError("connection refused")
    ):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
