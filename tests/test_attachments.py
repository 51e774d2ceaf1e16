"""Files attached to actions (issue 9, point 8): stored through the storage API, names sanitised,
size limited, type sniffed, served only as downloads to who may see the action."""

import pytest
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from suivi.activities import attachments
from suivi.activities.models import Action, Attachment
from suivi.core.errors import InvalidInput, PermissionDenied
from suivi.core.models import CompanySettings

from . import factories
from .conftest import logged_in, make_user

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


@pytest.fixture
def people(db):
    return {"owner": make_user("olive"), "other": make_user("otto")}


@pytest.fixture
def secret(people):
    party = factories.party(people["owner"], name="Alpha")
    return factories.action(people["owner"], subject="Secret plan", party=party, private=True)


def upload(client, action, name, content, **extra):
    return client.post(
        f"/crm/actions/{action.pk}/attachments/", {"file": SimpleUploadedFile(name, content), **extra}, **{}
    )


def test_the_owner_uploads_and_downloads_a_file_and_another_user_gets_404(people, secret):
    owner = logged_in(people["owner"])
    response = upload(owner, secret, "offer.pdf", PDF)
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert (attachment.name, attachment.size, attachment.content_type) == ("offer.pdf", len(PDF), "application/pdf")
    assert attachment.file.startswith("attachments/") and "offer" not in attachment.file
    assert storages["attachments"].exists(attachment.file)
    form = owner.get(f"/crm/actions/{secret.pk}/").content.decode()
    assert "offer.pdf" in form and f"/crm/actions/{secret.pk}/attachments/{attachment.pk}/" in form
    download = owner.get(f"/crm/actions/{secret.pk}/attachments/{attachment.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment;")
    other = logged_in(people["other"])
    assert other.get(f"/crm/actions/{secret.pk}/attachments/{attachment.pk}/").status_code == 404
    assert upload(other, secret, "x.txt", b"x").status_code == 404
    assert other.post(f"/crm/actions/{secret.pk}/attachments/{attachment.pk}/delete/").status_code == 404
    assert Attachment.objects.count() == 1
    anonymous = logged_in(people["other"])
    anonymous.logout()
    assert anonymous.get(f"/crm/actions/{secret.pk}/attachments/{attachment.pk}/").status_code == 302


def test_a_path_in_the_name_is_dropped_and_control_characters_removed(people, secret):
    client = logged_in(people["owner"])
    upload(client, secret, "../../etc/passwd", b"root:x:0:0")
    attachment = Attachment.objects.get()
    assert attachment.name == "passwd" and ".." not in attachment.file
    assert attachments.clean_name("..\\..\\win.ini") == "win.ini"
    assert attachments.clean_name("re\u202eport\x00\r\n.txt") == "report.txt"
    assert attachments.clean_name("...") == "file"
    assert len(attachments.clean_name("a" * 400 + ".pdf")) == 150 and attachments.clean_name(
        "a" * 400 + ".pdf"
    ).endswith(".pdf")


def test_a_file_over_the_limit_is_refused_with_a_message(people, secret, settings):
    settings.SUIVI_ATTACHMENT_MAX_BYTES = 1000
    client = logged_in(people["owner"])
    response = upload(client, secret, "big.bin", b"x" * 70_000)  # refused from its Content-Length
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "A file can be at most" in page and not Attachment.objects.exists()
    with pytest.raises(InvalidInput) as refused:
        attachments.add_attachment(acting_user=people["owner"], action=secret, name="b.bin", content=b"x" * 1001)
    assert "at most" in refused.value.errors["file"]
    api = APIClient()
    api.force_authenticate(people["owner"])
    answer = api.post(
        f"/api/v1/actions/{secret.pk}/attachments/", {"file": SimpleUploadedFile("big.bin", b"x" * 70_000)}
    )
    assert answer.status_code == 413 and "at most" in answer.json()["detail"]


def test_an_html_file_is_served_as_a_download_with_nosniff(people, secret):
    client = logged_in(people["owner"])
    upload(client, secret, "invoice.pdf", HTML)  # claims to be a PDF
    attachment = Attachment.objects.get()
    assert attachment.content_type == "text/html"
    response = client.get(f"/crm/actions/{secret.pk}/attachments/{attachment.pk}/")
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in response["Content-Security-Policy"]


def test_sniffing_reads_the_first_bytes_not_the_name():
    assert attachments.sniff(b"\x89PNG\r\n\x1a\n....") == "image/png"
    assert attachments.sniff(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert attachments.sniff(b"PK\x03\x04") == "application/zip"
    assert attachments.sniff(b"  <svg onload=alert(1)>") == "text/html"
    assert attachments.sniff("Bonjour, voilà".encode()) == "text/plain"
    assert attachments.sniff(b"\x00\x01\x02\xff") == "application/octet-stream"


def test_deleting_an_action_removes_its_files_and_only_its_people_may(
    people, secret, django_capture_on_commit_callbacks
):
    attachment = attachments.add_attachment(acting_user=people["owner"], action=secret, name="a.pdf", content=PDF)
    name = attachment.file
    with pytest.raises(PermissionDenied):
        attachments.delete_action(acting_user=people["other"], action=secret)
    with django_capture_on_commit_callbacks(execute=True):
        attachments.delete_action(acting_user=people["owner"], action=secret)
    assert not Action.objects.filter(pk=secret.pk).exists() and not Attachment.objects.exists()
    assert not storages["attachments"].exists(name)


def test_deleting_one_attachment_removes_its_file(people, secret, django_capture_on_commit_callbacks):
    client = logged_in(people["owner"])
    upload(client, secret, "a.txt", b"hello")
    attachment = Attachment.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/crm/actions/{secret.pk}/attachments/{attachment.pk}/delete/").status_code == 302
    assert not Attachment.objects.exists() and not storages["attachments"].exists(attachment.file)


def test_the_api_lists_uploads_and_downloads_with_the_actions_permissions(people, secret):
    api = APIClient()
    api.force_authenticate(people["owner"])
    created = api.post(f"/api/v1/actions/{secret.pk}/attachments/", {"file": SimpleUploadedFile("note.txt", b"hi")})
    assert created.status_code == 201 and created.json()["content_type"] == "text/plain"
    pk = created.json()["id"]
    assert [a["name"] for a in api.get(f"/api/v1/actions/{secret.pk}/attachments/").json()] == ["note.txt"]
    download = api.get(f"/api/v1/actions/{secret.pk}/attachments/{pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"hi"
    assert download["X-Content-Type-Options"] == "nosniff"
    other = APIClient()
    other.force_authenticate(people["other"])
    assert other.get(f"/api/v1/actions/{secret.pk}/attachments/").status_code == 404
    assert other.get(f"/api/v1/actions/{secret.pk}/attachments/{pk}/").status_code == 404
    assert (
        other.post(f"/api/v1/actions/{secret.pk}/attachments/", {"file": SimpleUploadedFile("x", b"x")}).status_code
        == 404
    )
    assert other.delete(f"/api/v1/actions/{secret.pk}/attachments/{pk}/").status_code == 404
    for bad in ("99999999999999999999", "0"):
        assert api.get(f"/api/v1/actions/{secret.pk}/attachments/{bad}/").status_code == 404
        assert api.get(f"/api/v1/actions/{bad}/attachments/").status_code == 404
    assert api.delete(f"/api/v1/actions/{secret.pk}/attachments/{pk}/").status_code == 204
    CompanySettings.objects.filter(pk=1).update(crm_enabled=False)
    assert api.get(f"/api/v1/actions/{secret.pk}/attachments/").status_code == 404
