"""Secrets at rest (issue 10, point 1): mailbox passwords are encrypted in the database with a key
from the environment, readable after a key rotation, never shown in a repr."""

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from suivi.core import secrets
from suivi.mailing.models import Mailbox

from .conftest import make_user


@pytest.fixture
def key(settings):
    secrets._fernet.cache_clear()
    settings.SUIVI_SECRETS_KEY = Fernet.generate_key().decode()
    yield settings.SUIVI_SECRETS_KEY
    secrets._fernet.cache_clear()


def mailbox(password):
    return Mailbox.objects.create(
        name="Mine",
        address="olive@example.com",
        owner=make_user("olive"),
        imap_host="mail.example.com",
        login="olive",
        password=password,
    )


def stored_password(pk) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT password FROM mailing_mailbox WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_a_password_is_stored_encrypted_and_read_back(db, key):
    box = mailbox("s3cr3t-Pässword")
    raw = stored_password(box.pk)
    assert "s3cr3t" not in raw and raw.startswith("fernet:")
    assert Mailbox.objects.get(pk=box.pk).password == "s3cr3t-Pässword"
    assert "s3cr3t" not in repr(Mailbox.objects.get(pk=box.pk).password)


def test_after_a_key_rotation_old_secrets_still_read_and_new_ones_use_the_new_key(db, key, settings):
    box = mailbox("before")
    new = Fernet.generate_key().decode()
    settings.SUIVI_SECRETS_KEY = f"{new},{key}"
    secrets._fernet.cache_clear()
    assert Mailbox.objects.get(pk=box.pk).password == "before"
    box.password = "after"
    box.save()
    assert Fernet(new.encode()).decrypt(stored_password(box.pk).removeprefix("fernet:").encode()) == b"after"


def test_a_secret_under_a_lost_key_reads_as_empty_not_as_an_error(db, key, settings):
    box = mailbox("gone")
    settings.SUIVI_SECRETS_KEY = Fernet.generate_key().decode()
    secrets._fernet.cache_clear()
    assert Mailbox.objects.get(pk=box.pk).password == ""
