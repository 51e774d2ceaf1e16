"""Colour fields take colours only: `red;}` and the like never reach the pages' CSS."""

import re

import pytest

from suivi.activities import services as action_services
from suivi.activities.models import ActionType
from suivi.core.errors import InvalidInput
from suivi.lib.colours import is_colour
from suivi.parties.models import Category

MESSAGE = "Enter a colour as #rgb or #rrggbb"


@pytest.mark.parametrize("value", ["#abc", "#A0b1C2", "#000000"])
def test_hex_colours_are_colours(value):
    assert is_colour(value)


@pytest.mark.parametrize("value", ["red;}", "red", "#abcd", "#12345g", "", "#abc;}", "#abc\n", None, 123])
def test_anything_else_is_not_a_colour(value):
    assert not is_colour(value)


def settings_rows(client, colour):
    page = client.get("/settings/action-types/").content.decode()
    total = int(re.search(r'name="form-TOTAL_FORMS" value="(\d+)"', page).group(1))
    data = {"form-TOTAL_FORMS": total - 1, "form-INITIAL_FORMS": total - 1}  # without the blank row
    for i, t in enumerate(ActionType.objects.all()):
        data.update(
            {
                f"form-{i}-id": t.pk,
                f"form-{i}-name_fr": t.name_fr,
                f"form-{i}-name_en": t.name_en,
                f"form-{i}-name_nl": t.name_nl,
                f"form-{i}-colour": colour if i == 0 else t.colour,
                f"form-{i}-icon": t.icon,
                f"form-{i}-default_duration": t.default_duration,
                f"form-{i}-active": "on",
                f"form-{i}-position": t.position,
                f"form-{i}-version": t.version,
            }
        )
    return data


def test_an_action_type_colour_that_is_not_a_colour_is_refused_on_the_settings_page(admin_client):
    first = ActionType.objects.first()
    before = first.colour
    response = admin_client.post("/settings/action-types/", settings_rows(admin_client, "red;}"))
    assert response.status_code == 400
    assert MESSAGE in response.content.decode()
    first.refresh_from_db()
    assert first.colour == before
    assert admin_client.post("/settings/action-types/", settings_rows(admin_client, "#aa0000")).status_code == 302
    first.refresh_from_db()
    assert first.colour == "#aa0000"


def test_the_service_refuses_a_colour_that_is_not_a_colour(admin_user):
    first = ActionType.objects.first()
    with pytest.raises(InvalidInput) as refused:
        action_services.save_configuration_row(
            acting_user=admin_user,
            model=ActionType,
            instance=first,
            values={"colour": "red;}"},
            expected_version=first.version,
        )
    assert MESSAGE in refused.value.errors["colour"]
    first.refresh_from_db()
    assert first.colour != "red;}"


@pytest.fixture
def superuser_client(admin_user):
    from .conftest import logged_in

    admin_user.is_superuser = True
    admin_user.save(update_fields=["is_superuser"])
    return logged_in(admin_user)


def test_a_category_colour_that_is_not_a_colour_is_refused_in_the_admin(superuser_client):
    response = superuser_client.post("/admin/parties/category/add/", {"name": "VIP", "colour": "red;}"})
    assert response.status_code == 200
    assert MESSAGE in response.content.decode()
    assert not Category.objects.filter(name="VIP").exists()
    response = superuser_client.post("/admin/parties/category/add/", {"name": "VIP", "colour": "#a00"})
    assert response.status_code == 302
    assert Category.objects.get(name="VIP").colour == "#a00"
