import os

import pytest
from django.test import Client

from suivi.accounts import services as account_services
from suivi.accounts.models import Role
from suivi.core.models import CompanySettings

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _company(db):
    CompanySettings.objects.get_or_create(pk=1, defaults={"company_name": "Test SRL"})


@pytest.fixture(autouse=True)
def _english_by_default(settings):
    # French is Suivi's default; tests read English unless they switch (test_i18n checks French).
    settings.LANGUAGE_CODE = "en"


@pytest.fixture(autouse=True)
def _fast_password_hasher(request, settings):
    # Argon2 costs ~50 ms a hash by design; tests use MD5 unless marked `production_hashers`.
    if request.node.get_closest_marker("production_hashers") is None:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _own_media_folder(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fresh_caches():
    from django.core.cache import cache

    cache.clear()


def make_user(username, role=Role.USER, **fields):
    return account_services.create_user(
        acting_user=None, username=username, password=PASSWORD, role=role, language="en", **fields
    )


@pytest.fixture
def admin_user(db):
    return make_user("alice", Role.ADMINISTRATOR, first_name="Alice")


@pytest.fixture
def manager_user(db):
    return make_user("mark", Role.MANAGER, first_name="Mark")


@pytest.fixture
def plain_user(db):
    return make_user("paul", Role.USER, first_name="Paul")


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    session = client.session
    session["suivi_language"] = "en"
    session.save()
    return client


@pytest.fixture
def admin_client(admin_user):
    return logged_in(admin_user)


@pytest.fixture
def manager_client(manager_user):
    return logged_in(manager_user)


@pytest.fixture
def user_client(plain_user):
    return logged_in(plain_user)


def pytest_configure(config):
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
