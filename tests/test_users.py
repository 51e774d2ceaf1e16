"""Users and roles inside Suivi (issue 7, point 7): administrators create or invite users, set their
role and groups, deactivate them and reset passwords; each change leaves an audit row, and the
Django admin appears in no page."""

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.test import Client
from rest_framework.authtoken.models import Token

import suivi
from suivi.accounts.models import Role, User
from suivi.core.models import AuditEvent

from .conftest import PASSWORD, logged_in, make_user

NEW_PASSWORD = "a brand new passphrase 42"
LINK = re.compile(r"https?://[^/\s]+(/password/set/[^\s]+/)")


def can_log_in(username, password) -> bool:
    client = Client()
    response = client.post("/login/", {"username": username, "password": password})
    return response.status_code == 302 and "/login/" not in response["Location"]


def test_an_administrator_creates_a_user_who_can_then_log_in(admin_client):
    sales = Group.objects.create(name="Sales")
    response = admin_client.post(
        "/settings/users/new/",
        {
            "username": "nina",
            "first_name": "Nina",
            "last_name": "Nys",
            "email": "nina@example.com",
            "role": Role.MANAGER,
            "groups": [sales.pk],
            "how": "password",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302, response.content[:500]
    nina = User.objects.get(username="nina")
    assert nina.role == Role.MANAGER and list(nina.groups.all()) == [sales]
    assert AuditEvent.objects.filter(verb="create", object_id=str(nina.pk)).exists()
    assert can_log_in("nina", NEW_PASSWORD)
    page = admin_client.get("/settings/users/").content.decode()
    assert "nina@example.com" in page and "Sales" in page and "Manager" in page


def test_an_invitation_mails_a_link_that_sets_the_password_once(admin_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/settings/users/new/",
            {"username": "ivan", "email": "ivan@example.com", "role": Role.USER, "how": "invite"},
        )
    assert response.status_code == 302, response.content[:500]
    ivan = User.objects.get(username="ivan")
    assert not ivan.has_usable_password()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ivan@example.com"]
    link = LINK.search(mail.outbox[0].body).group(1)

    invitee = Client()
    form_page = invitee.get(link, follow=True)
    assert form_page.status_code == 200 and b'name="password1"' in form_page.content
    set_url = form_page.redirect_chain[-1][0]
    done = invitee.post(set_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert done.status_code == 302 and "/login/" in done["Location"]
    assert can_log_in("ivan", NEW_PASSWORD)

    again = Client().get(link, follow=True)
    assert b'name="password1"' not in again.content and b"no longer valid" in again.content


def test_a_reset_link_is_mailed_on_request(admin_client, plain_user, django_capture_on_commit_callbacks):
    plain_user.email = "paul@example.com"
    plain_user.save()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/settings/users/{plain_user.pk}/password/", {"send_link": "1"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and LINK.search(mail.outbox[0].body)
    assert AuditEvent.objects.filter(verb="send_password_link", object_id=str(plain_user.pk)).exists()


def test_an_administrator_sets_a_password_and_the_old_sessions_end(admin_client, plain_user):
    victim = logged_in(plain_user)
    response = admin_client.post(
        f"/settings/users/{plain_user.pk}/password/", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert can_log_in("paul", NEW_PASSWORD) and not can_log_in("paul", PASSWORD)
    assert "/login/" in victim.get("/parties/")["Location"]


def test_role_and_groups_change_with_an_audit_row(admin_client, plain_user):
    sales = Group.objects.create(name="Sales")
    response = admin_client.post(
        f"/settings/users/{plain_user.pk}/",
        {"first_name": "Paul", "role": Role.MANAGER, "groups": [sales.pk], "version": plain_user.version},
    )
    assert response.status_code == 302, response.content[:500]
    plain_user.refresh_from_db()
    assert plain_user.role == Role.MANAGER and list(plain_user.groups.all()) == [sales]
    assert plain_user.version == 2
    event = AuditEvent.objects.filter(verb="update", object_id=str(plain_user.pk)).latest("pk")
    assert event.changes["role"] == [Role.USER, Role.MANAGER]
    assert event.changes["groups"] == [[], ["Sales"]]


def test_a_stale_version_is_a_409_and_a_missing_one_a_428(admin_client, plain_user):
    form = {"first_name": "Paul", "role": Role.MANAGER}
    stale = admin_client.post(f"/settings/users/{plain_user.pk}/", {**form, "version": plain_user.version + 5})
    assert stale.status_code == 409
    missing = admin_client.post(f"/settings/users/{plain_user.pk}/", form)
    assert missing.status_code == 428
    plain_user.refresh_from_db()
    assert plain_user.role == Role.USER and plain_user.version == 1


def test_deactivation_logs_the_user_out_at_once_and_kills_their_api_token(admin_client, plain_user):
    victim = logged_in(plain_user)
    assert victim.get("/parties/").status_code == 200
    token = Token.objects.create(user=plain_user)
    api = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get("/api/v1/parties/").status_code == 200

    response = admin_client.post(f"/settings/users/{plain_user.pk}/active/", {"active": "0"})
    assert response.status_code == 302
    after = victim.get("/parties/")
    assert after.status_code == 302 and "/login/" in after["Location"]
    assert api.get("/api/v1/parties/").status_code == 401
    assert AuditEvent.objects.filter(verb="update", object_id=str(plain_user.pk), changes__has_key="is_active")

    admin_client.post(f"/settings/users/{plain_user.pk}/active/", {"active": "1"})
    plain_user.refresh_from_db()
    assert plain_user.is_active and not Token.objects.filter(user=plain_user).exists()


def test_the_last_administrator_cannot_demote_or_deactivate_themselves(admin_client, admin_user):
    demote = admin_client.post(f"/settings/users/{admin_user.pk}/", {"role": Role.USER, "version": admin_user.version})
    assert demote.status_code == 400 and b"last active administrator" in demote.content
    deactivate = admin_client.post(f"/settings/users/{admin_user.pk}/active/", {"active": "0"}, follow=True)
    assert b"last active administrator" in deactivate.content
    admin_user.refresh_from_db()
    assert admin_user.role == Role.ADMINISTRATOR and admin_user.is_active

    # With a second administrator, the first may step down.
    make_user("bea", Role.ADMINISTRATOR)
    stepped = admin_client.post(f"/settings/users/{admin_user.pk}/", {"role": Role.USER, "version": admin_user.version})
    assert stepped.status_code == 302 and stepped["Location"] == "/"
    admin_user.refresh_from_db()
    assert admin_user.role == Role.USER


def users_routes(user):
    return [
        ("get", "/settings/users/", None),
        ("get", "/settings/users/new/", None),
        ("post", "/settings/users/new/", {"username": "x", "role": "admin", "how": "invite", "email": "x@x.be"}),
        ("get", f"/settings/users/{user.pk}/", None),
        ("post", f"/settings/users/{user.pk}/", {"role": "admin", "version": user.version}),
        ("post", f"/settings/users/{user.pk}/active/", {"active": "0"}),
        ("post", f"/settings/users/{user.pk}/password/", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}),
        ("post", f"/settings/users/{user.pk}/password/", {"send_link": "1"}),
    ]


@pytest.mark.parametrize("who", ["manager_client", "user_client"])
def test_managers_and_plain_users_get_403_on_every_users_route(request, who, admin_user):
    client = request.getfixturevalue(who)
    for method, url, data in users_routes(admin_user):
        response = getattr(client, method)(url, data)
        assert response.status_code == 403, (who, method, url, response.status_code)
    admin_user.refresh_from_db()
    assert admin_user.is_active and admin_user.version == 1 and not User.objects.filter(username="x").exists()
    assert len(mail.outbox) == 0


def test_no_page_links_to_the_django_admin(admin_client, admin_user, plain_user):
    for url in (
        "/",
        "/settings/crm/",
        "/settings/action-types/",
        "/settings/users/",
        f"/settings/users/{plain_user.pk}/",
        "/settings/users/new/",
        "/preferences/",
        "/parties/",
        "/contacts/",
    ):
        html = admin_client.get(url, follow=True).content.decode()
        assert 'href="/admin' not in html, url
    # Users are managed in Suivi: Settings links there (for administrators), and no template names the admin.
    assert 'href="/settings/users/"' in admin_client.get("/settings/crm/").content.decode()
    root = Path(suivi.__file__).parent
    for template in root.rglob("templates/**/*.html"):
        text = template.read_text()
        assert "/admin/" not in text and "admin:index" not in text, template


def test_a_password_link_expires_after_password_reset_timeout(
    admin_client, plain_user, settings, django_capture_on_commit_callbacks
):
    plain_user.email = "paul@example.com"
    plain_user.save()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/settings/users/{plain_user.pk}/password/", {"send_link": "1"})
    assert f"{settings.PASSWORD_RESET_TIMEOUT // 3600} hours" in mail.outbox[0].body
    link = LINK.search(mail.outbox[0].body).group(1)
    settings.PASSWORD_RESET_TIMEOUT = -1  # the link is now older than the timeout
    page = Client().get(link, follow=True)
    assert b'name="password1"' not in page.content and b"no longer valid" in page.content
