"""No lost update without a word (RELIABILITY S9, S15): every update states the version it
started from — the form's hidden ``version``, the API's ``version`` field or an ``If-Match``
header — and one without is refused with 428 and a message; a stale one gets 409."""

import pytest
from rest_framework.test import APIClient

from suivi.activities.models import Action, Folder
from suivi.core.models import CompanySettings
from suivi.parties.models import Contact, Party

from . import factories


@pytest.fixture
def records(manager_user):
    party = factories.party(manager_user, name="Alpha")
    return {
        "party": party,
        "contact": factories.contact(manager_user, party=party, last_name="Peeters"),
        "action": factories.action(manager_user, subject="Call", party=party),
        "folder": factories.folder(manager_user, name="Roof", followed_by=manager_user),
    }


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_form_saves_without_a_version_are_refused_with_428_and_nothing_changes(
    manager_client, admin_client, manager_user, records
):
    party, contact, action, folder = records["party"], records["contact"], records["action"], records["folder"]
    posts = [
        (manager_client, f"/parties/{party.pk}/update/", {"name": "Renamed", "country": "BE", "language": "fr"}),
        (manager_client, f"/contacts/{contact.pk}/update/", {"last_name": "Renamed", "language": "fr"}),
        (
            manager_client,
            f"/crm/actions/{action.pk}/",
            {"subject": "Renamed", "action_type": action.action_type_id, "priority": 2, "followed_by": manager_user.pk},
        ),
        (manager_client, f"/crm/folders/{folder.pk}/update/", {"name": "Renamed", "currency": "EUR"}),
        (manager_client, f"/crm/folders/{folder.pk}/delete/", {"actions": "detach"}),
        (manager_client, f"/parties/{party.pk}/archive/", {}),
        (admin_client, "/settings/general/", {"company_name": "Renamed", "country": "BE"}),
    ]
    for client, url, data in posts:
        response = client.post(url, data)
        assert response.status_code == 428, (url, response.status_code)
        assert "which version" in response.content.decode(), url
    assert Party.objects.get(pk=party.pk).name == "Alpha" and not Party.objects.get(pk=party.pk).archived
    assert Contact.objects.get(pk=contact.pk).last_name == "Peeters"
    assert Action.objects.get(pk=action.pk).subject == "Call"
    assert Folder.objects.filter(pk=folder.pk, name="Roof").exists()
    assert CompanySettings.objects.get().company_name != "Renamed"


@pytest.mark.parametrize("method", ["patch", "put"])
def test_api_updates_without_a_version_are_refused_with_428(manager_user, admin_user, records, method):
    client = api(manager_user)
    party = records["party"]
    body = {"name": "Renamed", "country": "BE"}
    for url in (
        f"/api/v1/parties/{party.pk}/",
        f"/api/v1/contacts/{records['contact'].pk}/",
        f"/api/v1/actions/{records['action'].pk}/",
        f"/api/v1/folders/{records['folder'].pk}/",
    ):
        data = {
            **body,
            "last_name": "Renamed",
            "subject": "Renamed",
            "action_type": records["action"].action_type_id,
            "followed_by": manager_user.pk,
        }
        response = getattr(client, method)(url, data, format="json")
        assert response.status_code == 428, (url, response.status_code, response.content[:200])
        assert "If-Match" in response.json()["detail"]
    assert api(manager_user).delete(f"/api/v1/parties/{party.pk}/").status_code == 428
    assert api(admin_user).patch("/api/v1/settings", {"company_name": "X"}, format="json").status_code == 428
    assert Party.objects.get(pk=party.pk).name == "Alpha" and not Party.objects.get(pk=party.pk).archived
    assert CompanySettings.objects.get().company_name != "X"


def test_if_match_carries_the_etag_of_the_read_and_a_stale_one_is_a_conflict(manager_user, records):
    client = api(manager_user)
    url = f"/api/v1/parties/{records['party'].pk}/"
    read = client.get(url)
    etag = read["ETag"]
    assert etag == f'"{read.json()["version"]}"'
    first = client.patch(url, {"city": "Mons"}, format="json", HTTP_IF_MATCH=etag)
    assert first.status_code == 200 and first["ETag"] != etag
    stale = client.patch(url, {"city": "Ath"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 409
    assert client.patch(url, {"city": "Ath"}, format="json", HTTP_IF_MATCH='"x"').status_code == 400
    assert Party.objects.get(pk=records["party"].pk).city == "Mons"


def test_the_version_field_and_if_match_agree(manager_user, records):
    folder = records["folder"]
    client = api(manager_user)
    ok = client.patch(f"/api/v1/folders/{folder.pk}/", {"name": "A", "version": folder.version}, format="json")
    assert ok.status_code == 200
    stale = client.patch(f"/api/v1/folders/{folder.pk}/", {"name": "B", "version": folder.version}, format="json")
    assert stale.status_code == 409 and Folder.objects.get(pk=folder.pk).name == "A"


def test_rows_of_action_types_carry_their_version_and_a_stale_one_saves_nothing(admin_client):
    import re

    from suivi.activities.models import ActionType

    page = admin_client.get("/settings/action-types/").content.decode()
    first = ActionType.objects.order_by("position", "pk").first()
    assert re.search(r'name="form-0-version" value="1"', page)
    rows = ActionType.objects.order_by("position", "pk")
    data = {"form-TOTAL_FORMS": len(rows), "form-INITIAL_FORMS": len(rows)}
    for i, t in enumerate(rows):
        for name in ("name_fr", "name_en", "name_nl", "colour", "icon", "default_duration", "position", "version"):
            data[f"form-{i}-{name}"] = getattr(t, name)
        data.update({f"form-{i}-id": t.pk, f"form-{i}-active": "on"})
    data["form-0-name_en"] = "Phone call"
    ActionType.objects.filter(pk=first.pk).update(version=2, name_fr="Changé ailleurs")  # someone saved meanwhile
    response = admin_client.post("/settings/action-types/", data)
    assert response.status_code == 409 and "changed by someone else" in response.content.decode()
    first.refresh_from_db()
    assert first.name_en != "Phone call" and first.name_fr == "Changé ailleurs"  # theirs kept, nothing of ours
    assert not ActionType.objects.filter(name_en="Phone call").exists()
