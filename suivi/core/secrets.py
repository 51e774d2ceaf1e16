"""Secrets kept in the database (mailbox passwords, OAuth tokens), encrypted at rest.

The key comes from the environment: ``SUIVI_SECRETS_KEY``, one or more Fernet keys separated by
commas (the first encrypts, all decrypt: to rotate, put a new key first; each secret is
encrypted with it when next saved; drop the old key once none is left under it). Without it, a
key is generated once into the var folder (mode 600), as for SECRET_KEY, so that a fresh
installation works; production sets its own. A secret is never shown back: forms leave the field
empty and keep the stored value when nothing is typed.
"""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

PREFIX = "fernet:"


class SecretUnreadable(Exception):
    """The stored secret was encrypted with a key this server no longer has."""


@cache
def _fernet() -> MultiFernet:
    keys = [k.strip() for k in settings.SUIVI_SECRETS_KEY.split(",") if k.strip()]
    return MultiFernet([Fernet(k.encode()) for k in keys])


def encrypt(plain: str) -> str:
    if not plain:
        return ""
    return PREFIX + _fernet().encrypt(plain.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored:
        return ""
    if not stored.startswith(PREFIX):
        raise SecretUnreadable("not an encrypted value")
    try:
        return _fernet().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken as e:
        raise SecretUnreadable("encrypted with another key") from e


def seal(plain: str) -> str:
    """``plain`` as an opaque, authenticated, URL-safe token (a link that must not show what it
    stands for, e.g. the address of an unsubscribe link)."""
    return _fernet().encrypt(plain.encode()).decode().rstrip("=")


def unseal(token: str) -> str | None:
    """What ``seal`` sealed; None for a token that was not made here or was changed."""
    token = str(token or "")
    try:
        return _fernet().decrypt((token + "=" * (-len(token) % 4)).encode()).decode()
    except (InvalidToken, ValueError, UnicodeError):
        return None


class EncryptedSecret(str):
    """A decrypted secret that does not show itself in reprs, logs or tracebacks."""

    def __repr__(self) -> str:
        return "'********'" if self else "''"


class SecretField(models.TextField):
    """A text column holding a Fernet token; the model attribute is the plain secret.

    A value that cannot be decrypted (the key was changed) reads as empty: the user is asked to
    type the password again, which is better than a page that fails."""

    def from_db_value(self, value, expression, connection):
        try:
            return EncryptedSecret(decrypt(value or ""))
        except SecretUnreadable:
            return EncryptedSecret("")

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return encrypt(value or "")

    def to_python(self, value):
        return EncryptedSecret(value or "")
