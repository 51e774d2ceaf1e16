"""403, 404 and 500 pages are Suivi's, in the user's language, with the menu."""

import pytest

from .conftest import logged_in


@pytest.fixture
def french(plain_user):
    client = logged_in(plain_user)
    session = client.session
    session["suivi_language"] = "fr"
    session.save()
    return client


def test_a_missing_page_is_suivis_own_in_the_users_language(french, settings):
    settings.DEBUG = False
    response = french.get("/parties/999999/")
    page = response.content.decode()
    assert response.status_code == 404 and 'data-error="404"' in page and 'lang="fr"' in page
    assert "Page introuvable" in page and 'href="/parties/"' in page  # the menu is there


def test_a_forbidden_page_is_suivis_own(rf, plain_user):
    from django.core.exceptions import PermissionDenied
    from django.views.defaults import permission_denied

    request = rf.get("/x/")
    request.user = plain_user
    page = permission_denied(request, PermissionDenied("Only administrators may do this.")).content.decode()
    assert 'data-error="403"' in page and "Only administrators may do this." in page


def test_a_server_error_page_says_nothing_was_lost(settings):
    from django.template import loader
    from django.utils import translation

    with translation.override("nl"):
        page = loader.get_template("500.html").render()
    assert 'lang="nl"' in page and 'data-error="500"' in page
