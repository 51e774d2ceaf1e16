"""Attachments in an S3-compatible object store (issue 9, point 8): with
SUIVI_ATTACHMENTS_S3_BUCKET set, files go through django-storages to the bucket and come back only
through the permission-checked view. The store here is a real HTTP server on loopback speaking
the S3 API (moto's server, started as its own process), reached by boto3 exactly as a MinIO or
AWS bucket would be."""

import socket
import subprocess
import sys
import time
import urllib.request

import boto3
import pytest
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile

from suivi.activities import attachments
from suivi.activities.models import Attachment
from suivi.settings import attachments_storage

from . import factories
from .conftest import logged_in, make_user

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
KEYS = {"SUIVI_ATTACHMENTS_S3_ACCESS_KEY": "suivi-test", "SUIVI_ATTACHMENTS_S3_SECRET_KEY": "suivi-test-secret"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server():
    """An S3-compatible server on a free loopback port, for this module."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the S3 test server did not start") from None
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def bucket(s3_server, settings):
    """A fresh bucket, and Suivi's settings pointing the attachments at it as an operator would."""
    name = f"suivi-{time.monotonic_ns()}"
    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name="eu-west-3",
        aws_access_key_id=KEYS["SUIVI_ATTACHMENTS_S3_ACCESS_KEY"],
        aws_secret_access_key=KEYS["SUIVI_ATTACHMENTS_S3_SECRET_KEY"],
    )
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
    env = {
        "SUIVI_ATTACHMENTS_S3_BUCKET": name,
        "SUIVI_ATTACHMENTS_S3_ENDPOINT_URL": s3_server,
        "SUIVI_ATTACHMENTS_S3_REGION": "eu-west-3",
        "SUIVI_ATTACHMENTS_S3_PREFIX": "suivi/",
        **KEYS,
    }
    settings.STORAGES = {**settings.STORAGES, "attachments": attachments_storage(env)}
    client.suivi_bucket = name
    return client


@pytest.fixture
def people(db):
    return {"owner": make_user("olive"), "other": make_user("otto")}


@pytest.fixture
def action(people):
    party = factories.party(people["owner"], name="Alpha")
    return factories.action(people["owner"], subject="Offer", party=party, private=True)


def objects(bucket) -> dict[str, bytes]:
    listed = bucket.list_objects_v2(Bucket=bucket.suivi_bucket).get("Contents", [])
    return {o["Key"]: bucket.get_object(Bucket=bucket.suivi_bucket, Key=o["Key"])["Body"].read() for o in listed}


def test_without_a_bucket_the_files_stay_on_the_local_disk():
    assert attachments_storage({})["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    configured = attachments_storage({"SUIVI_ATTACHMENTS_S3_BUCKET": "b", "SUIVI_ATTACHMENTS_S3_ENDPOINT_URL": "x"})
    assert configured["BACKEND"] == "storages.backends.s3.S3Storage"
    assert configured["OPTIONS"]["default_acl"] == "private"


def test_an_upload_lands_in_the_bucket_and_comes_back_only_through_the_view(bucket, people, action):
    owner = logged_in(people["owner"])
    response = owner.post(f"/crm/actions/{action.pk}/attachments/", {"file": SimpleUploadedFile("offer.pdf", PDF)})
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    stored = objects(bucket)
    assert list(stored) == ["suivi/" + attachment.file] and stored["suivi/" + attachment.file] == PDF
    grants = bucket.get_object_acl(Bucket=bucket.suivi_bucket, Key="suivi/" + attachment.file)["Grants"]
    assert [g["Grantee"].get("URI") for g in grants if g["Grantee"].get("URI")] == []  # not public
    download = owner.get(f"/crm/actions/{action.pk}/attachments/{attachment.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    assert download["Content-Disposition"].startswith("attachment;")
    other = logged_in(people["other"])
    assert other.get(f"/crm/actions/{action.pk}/attachments/{attachment.pk}/").status_code == 404


def test_deleting_the_action_removes_its_objects(bucket, people, action, django_capture_on_commit_callbacks):
    attachments.add_attachment(acting_user=people["owner"], action=action, name="a.pdf", content=PDF)
    attachments.add_attachment(acting_user=people["owner"], action=action, name="b.txt", content=b"hello")
    assert len(objects(bucket)) == 2
    with django_capture_on_commit_callbacks(execute=True):
        attachments.delete_action(acting_user=people["owner"], action=action)
    assert objects(bucket) == {} and not Attachment.objects.exists()


def test_a_row_that_is_rolled_back_leaves_no_object(bucket, people, action, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("audit failed")

    monkeypatch.setattr(attachments.audit, "record", broken)
    with pytest.raises(RuntimeError):
        attachments.add_attachment(acting_user=people["owner"], action=action, name="a.pdf", content=PDF)
    assert objects(bucket) == {} and not Attachment.objects.exists()


def test_a_store_that_does_not_answer_gives_a_clear_message_and_loses_nothing(bucket, people, action, settings):
    owner = logged_in(people["owner"])
    kept = attachments.add_attachment(acting_user=people["owner"], action=action, name="kept.pdf", content=PDF)
    dead = {
        "SUIVI_ATTACHMENTS_S3_BUCKET": bucket.suivi_bucket,
        "SUIVI_ATTACHMENTS_S3_ENDPOINT_URL": f"http://127.0.0.1:{_free_port()}",  # nothing listens
        **KEYS,
    }
    settings.STORAGES = {**settings.STORAGES, "attachments": attachments_storage(dead)}
    response = owner.post(f"/crm/actions/{action.pk}/attachments/", {"file": SimpleUploadedFile("new.pdf", PDF)})
    page = owner.get(response["Location"]).content.decode()
    assert "The file store could not be reached: nothing was attached." in page
    assert list(Attachment.objects.values_list("name", flat=True)) == ["kept.pdf"]
    download = owner.get(f"/crm/actions/{action.pk}/attachments/{kept.pk}/")
    assert download.status_code == 503 and "could not be reached" in download.content.decode()
    assert type(storages["attachments"]).__name__ == "S3Storage"
