"""The e-mailing API (issue 11, point 8): /api/v1/mailings for drafts (versioned changes: 428
without a version, 409 on another one), start / pause / resume / cancel, the progress, the
recipients by state (paginated, in a fixed number of queries) and the unknown ones decided."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from suivi.accounts.models import Role
from suivi.mailing import mailing_sender
from suivi.mailing.mailings import Mailing, MailingRecipient, MailingStatus, RecipientReason, RecipientStatus

from .conftest import make_user
from .mailservers import smtp_server  # noqa: F401  (fixture)
from .test_mailing_pages import _loopback, olive, people, use_server  # noqa: F401  (fixtures)


@pytest.fixture
def api(olive):  # noqa: F811
    client = APIClient()
    client.force_authenticate(olive)
    return client


DRAFT = {
    "name": "Spring",
    "subject": "News for {{ party.name }}",
    "body": "<p>Hello {{ contact.first_name }}</p>",
    "selection": "expression",
    "expression": 'party.city = "Namur"',
}


def test_a_draft_is_created_read_changed_from_its_version_and_deleted(api, olive):  # noqa: F811
    people(2)
    made = api.post("/api/v1/mailings/", DRAFT, format="json")
    assert made.status_code == 201, made.json()
    body = made.json()
    assert (body["status"], body["method"], body["author"], body["version"]) == ("draft", "send", olive.pk, 1)
    url = f"/api/v1/mailings/{body['id']}/"
    read = api.get(url)
    assert read["ETag"] == '"1"' and read.json()["body"] == DRAFT["body"]
    listed = api.get("/api/v1/mailings/").json()
    assert listed["count"] == 1 and "body" not in listed["results"][0]
    assert api.patch(url, {"name": "Renamed"}, format="json").status_code == 428
    changed = api.patch(url, {"name": "Renamed"}, format="json", HTTP_IF_MATCH='"1"')
    assert changed.status_code == 200 and changed.json()["name"] == "Renamed" and changed["ETag"] == '"2"'
    assert api.patch(url, {"name": "Mine", "version": 1}, format="json").status_code == 409
    other = APIClient()
    other.force_authenticate(make_user("paul"))
    assert other.get(url).status_code == 200
    assert other.patch(url, {"name": "His", "version": 2}, format="json").status_code == 403
    assert api.delete(url).status_code == 204 and not Mailing.objects.exists()


def test_bad_values_are_a_400_with_every_message(api):
    refused = api.post(
        "/api/v1/mailings/",
        {**DRAFT, "subject": "", "expression": "party.secret = 1", "reply_to": "nope", "method": "fax"},
        format="json",
    )
    assert refused.status_code == 400
    assert set(refused.json()["errors"]) == {"subject", "expression", "reply_to", "method"}
    bad_types = api.post("/api/v1/mailings/", {**DRAFT, "contact_ids": ["x"], "record_actions": "maybe"}, format="json")
    assert bad_types.status_code == 400 and set(bad_types.json()["errors"]) == {"contact_ids", "record_actions"}
    assert not Mailing.objects.exists()


def test_a_hand_made_list_through_the_api(api):
    contacts = people(3)
    made = api.post(
        "/api/v1/mailings/",
        {**DRAFT, "selection": "list", "contact_ids": [contacts[1].pk], "addresses": ["Jean <jean@else.test>"]},
        format="json",
    )
    assert made.status_code == 201
    assert (made.json()["contact_ids"], made.json()["addresses"]) == ([contacts[1].pk], ["Jean <jean@else.test>"])


def test_start_pause_resume_cancel_and_the_progress(api, smtp_server):  # noqa: F811
    use_server(smtp_server)
    people(4)
    made = api.post("/api/v1/mailings/", DRAFT, format="json").json()
    url = f"/api/v1/mailings/{made['id']}/"
    assert api.post(url + "start/", {}, format="json").status_code == 428
    started = api.post(url + "start/", {"version": made["version"]}, format="json")
    assert started.status_code == 200 and started.json()["status"] == "sending"
    again = api.post(url + "start/", {"version": made["version"]}, format="json")  # a double click
    assert again.status_code == 400 and "already started" in again.json()["errors"]["status"]
    assert api.post(url + "pause/").json()["status"] == "paused"
    paused_again = api.post(url + "pause/")
    assert paused_again.status_code == 400 and "paused" in paused_again.json()["errors"]["status"]
    assert api.post(url + "resume/").json()["status"] == "sending"
    assert mailing_sender.run(made["id"]) == mailing_sender.DONE
    progress = api.get(url + "progress/").json()
    assert progress == {
        "status": "done",
        "total": 4,
        "pending": 0,
        "sending": 0,
        "sent": 4,
        "failed": 0,
        "skipped": 0,
        "unknown": 0,
        "remaining": 0,
        "prepared": True,
        "done_share": 1.0,
        "eta_seconds": None,
        "pause_reason": "",
    }
    assert api.post(url + "cancel/").status_code == 400  # finished: nothing to cancel
    manager = APIClient()
    manager.force_authenticate(make_user("mia", Role.MANAGER))
    second = api.post("/api/v1/mailings/", {**DRAFT, "name": "Second"}, format="json").json()
    manager.post(f"/api/v1/mailings/{second['id']}/start/", {"version": 1}, format="json")
    assert manager.post(f"/api/v1/mailings/{second['id']}/cancel/").json()["status"] == "cancelled"


def test_recipients_are_paginated_filtered_by_state_in_a_fixed_number_of_queries(api, olive, smtp_server):  # noqa: F811
    use_server(smtp_server)

    def sent(count, prefix):
        people(count, city=prefix, prefix=prefix)
        made = api.post("/api/v1/mailings/", {**DRAFT, "expression": f'party.city = "{prefix}"'}, format="json").json()
        api.post(f"/api/v1/mailings/{made['id']}/start/", {"version": 1}, format="json")
        mailing_sender.run(made["id"])
        return made["id"]

    small = sent(5, "a")
    rows = list(MailingRecipient.objects.filter(mailing_id=small).order_by("pk"))
    MailingRecipient.objects.filter(pk=rows[0].pk).update(status="unknown", reason_code="interrupted")
    MailingRecipient.objects.filter(pk=rows[1].pk).update(status="failed", reason_code="bounced", detail="5.1.1 x")
    listed = api.get(f"/api/v1/mailings/{small}/recipients/").json()
    assert listed["count"] == 5 and listed["results"][0]["address"] == "a0@example.test"
    assert listed["results"][0]["status"] == "unknown" and "interrupted" in listed["results"][0]["reason"]
    bounced = api.get(f"/api/v1/mailings/{small}/recipients/?status=bounced").json()
    assert [r["address"] for r in bounced["results"]] == ["a1@example.test"]
    assert bounced["results"][0]["reason"] == "bounced: 5.1.1 x"
    assert api.get(f"/api/v1/mailings/{small}/recipients/?status=sent").json()["count"] == 3
    refused = api.get(f"/api/v1/mailings/{small}/recipients/?status=lost")
    assert refused.status_code == 400 and "status" in refused.json()["errors"]
    with CaptureQueriesContext(connection) as few:
        api.get(f"/api/v1/mailings/{small}/recipients/")
    big = sent(60, "b")
    with CaptureQueriesContext(connection) as many:
        page = api.get(f"/api/v1/mailings/{big}/recipients/?page_size=50").json()
    assert len(page["results"]) == 50 and page["count"] == 60 and page["next"]
    assert len(many) == len(few) <= 8
    # the unknown one, counted as sent
    decided = api.post(f"/api/v1/mailings/{small}/unknown/", {"do": "sent"}, format="json")
    assert decided.json() == {"changed": 1}
    assert MailingRecipient.objects.get(pk=rows[0].pk).reason_code == RecipientReason.CONFIRMED
    assert api.post(f"/api/v1/mailings/{small}/unknown/", {"do": "later"}, format="json").status_code == 400
    assert Mailing.objects.get(pk=small).status == MailingStatus.DONE
    assert MailingRecipient.objects.filter(mailing_id=small, status=RecipientStatus.SENT).count() == 4


def test_unknown_ids_and_out_of_range_values_are_400_or_404_never_500(api):
    people(1)
    assert api.get("/api/v1/mailings/99999999999999999999/").status_code == 404
    assert api.get("/api/v1/mailings/0/progress/").status_code == 404
    made = api.post("/api/v1/mailings/", DRAFT, format="json").json()
    start = api.post(
        f"/api/v1/mailings/{made['id']}/start/", {"version": 1, "at": "0001-01-01T00:00:00Z"}, format="json"
    )
    assert start.status_code == 200 and start.json()["status"] == "sending"  # a time past: now
    assert (
        api.post(f"/api/v1/mailings/{made['id']}/unknown/", {"do": "sent", "ids": [2**70]}, format="json").status_code
        == 400
    )
