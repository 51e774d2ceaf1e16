"""What every page carries besides its content: a favicon (no /favicon.ico request answered 404
on every page), and readable titles of the browsable API."""

from pathlib import Path

from .conftest import logged_in

STATIC = Path(__file__).resolve().parents[1] / "suivi" / "web" / "static"


def test_every_page_links_a_small_svg_icon(plain_user):
    page = logged_in(plain_user).get("/").content.decode()
    assert '<link rel="icon" href="/static/suivi/favicon.svg" type="image/svg+xml">' in page
    icon = (STATIC / "suivi" / "favicon.svg").read_text()
    assert icon.startswith("<svg") and len(icon) < 2000


def test_the_browsable_api_names_the_company_settings_as_people_do(plain_user):
    client = logged_in(plain_user)
    for url in ("/api/v1/settings", "/api/v1/settings/"):
        page = client.get(url, HTTP_ACCEPT="text/html").content.decode()
        assert "Company settings" in page and "Slash" not in page, url
