"""Content-Security-Policy: every page sends it, and no page needs inline script to work."""

import re

import pytest

from suivi.core.models import CompanySettings
from suivi.parties.models import Category

from . import factories

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
HANDLER_ATTRIBUTE = re.compile(r"<[^>]*\son\w+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[^>]*\sstyle\s*=", re.IGNORECASE)


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    out = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def test_pages_send_a_strict_content_security_policy(client, user_client):
    for response in (client.get("/login/"), user_client.get("/parties/")):
        policy = directives(response)
        assert policy["default-src"] == ["'self'"]
        assert policy["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
        assert policy["frame-ancestors"] == ["'none'"]
        assert policy["object-src"] == ["'none'"]


@pytest.fixture
def filled(admin_user):
    CompanySettings.objects.filter(pk=1).update(crm_enabled=True, opportunities_enabled=True)
    category = Category.objects.create(name="VIP", colour="#aa0000")
    party = factories.party(admin_user, name="Toiture Lambert")
    party.categories.add(category)
    contact = factories.contact(admin_user, party=party)
    folder = factories.folder(admin_user, name="Roof", party=party)
    action = factories.action(admin_user, party=party, folder=folder)
    return {"party": party, "contact": contact, "folder": folder, "action": action}


def main_pages(filled):
    p, c, f, a = filled["party"].pk, filled["contact"].pk, filled["folder"].pk, filled["action"].pk
    return [
        "/",
        "/password/",
        "/preferences/",
        "/settings/general/",
        "/settings/crm/",
        "/settings/action-types/",
        "/settings/stages/",
        "/settings/users/",
        "/settings/users/new/",
        f"/settings/users/{filled['action'].followed_by_id}/",
        "/crm/",
        "/crm/actions/?sort=-when",
        "/crm/actions/new/",
        f"/crm/actions/{a}/",
        "/crm/folders/",
        "/crm/folders/new/",
        f"/crm/folders/{f}/update/",
        f"/crm/folders/{f}/delete/",
        "/crm/pipeline/",
        "/parties/",
        "/parties/?q=Toiture",
        "/parties/new/",
        f"/parties/{p}/",
        f"/parties/{p}/update/",
        "/parties/import/",
        "/parties/typeahead/?q=Toit",
        "/contacts/",
        "/contacts/new/",
        f"/contacts/{c}/",
        f"/contacts/{c}/update/",
    ]


def assert_no_inline_code(url, html):
    assert not INLINE_SCRIPT.search(html), f"{url}: inline <script>: {INLINE_SCRIPT.search(html).group(0)}"
    assert not HANDLER_ATTRIBUTE.search(html), f"{url}: on…= handler: {HANDLER_ATTRIBUTE.search(html).group(0)}"
    assert not STYLE_ATTRIBUTE.search(html), f"{url}: style=…: {STYLE_ATTRIBUTE.search(html).group(0)}"


def test_no_page_carries_inline_script_handlers_or_styles(admin_client, filled):
    for url in main_pages(filled):
        response = admin_client.get(url, follow=True)  # a list may first redirect to its default filters
        assert response.status_code == 200, url
        assert "Content-Security-Policy" in response, url
        assert_no_inline_code(url, response.content.decode())
    # htmx partials (asked for with HX-Request) too.
    for url in ("/parties/?q=Toit", "/parties/typeahead/?q=Toit"):
        response = admin_client.get(url, headers={"HX-Request": "true"})
        assert response.status_code == 200, url
        assert_no_inline_code(url, response.content.decode())


def test_the_login_and_lockout_pages_carry_no_inline_script(client, plain_user, settings):
    assert_no_inline_code("/login/", client.get("/login/").content.decode())
    settings.AXES_FAILURE_LIMIT = 1
    client.post("/login/", {"username": "paul", "password": "wrong"})
    locked = client.post("/login/", {"username": "paul", "password": "wrong"})
    assert b"Too many failed attempts" in locked.content
    assert_no_inline_code("/login/ (locked)", locked.content.decode())


def test_htmx_is_configured_not_to_inject_styles_or_eval(user_client):
    html = user_client.get("/parties/").content.decode()
    assert '"includeIndicatorStyles":false' in html
    assert '"allowEval":false' in html


def test_category_colours_reach_the_page_as_data_not_style(admin_client, filled):
    html = admin_client.get("/parties/").content.decode()
    assert 'data-tag="#aa0000"' in html


def test_the_api_docs_work_under_their_own_policy(user_client):
    page = user_client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)  # the start-up script is a file
    policy = directives(page)
    assert policy["script-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    script_url = re.search(r'<script src="([^"]*script=[^"]*)"', html).group(1).replace("&amp;", "&")
    script = user_client.get(script_url)
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content
    # Only this page widens the policy (Swagger UI styles itself inline).
    assert "'unsafe-inline'" in policy["style-src"]
    assert "'unsafe-inline'" not in directives(user_client.get("/parties/"))["style-src"]
