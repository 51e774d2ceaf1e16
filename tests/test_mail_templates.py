"""E-mail templates with merge fields and signatures (issue 10, point 2): sandboxed, allow-listed
fields checked at save with their line; a template and the signature fill the compose form."""

import pytest

from suivi.accounts.models import Role
from suivi.core.errors import InvalidInput, PermissionDenied
from suivi.mailing import services

from . import factories
from .conftest import logged_in, make_user


@pytest.fixture
def world(db):
    manager = make_user("mona", role=Role.MANAGER, first_name="Mona", last_name="Lisa", email="mona@acme.test")
    party = factories.party(manager, name="Garage Dupont", city="Namur")
    contact = factories.contact(manager, party, first_name="Jean", last_name="Dupont", email="jean@dupont.test")
    return {"manager": manager, "party": party, "contact": contact}


def test_a_template_and_the_signature_fill_the_compose_form(world):
    template = services.save_template(
        acting_user=world["manager"],
        template=None,
        values={
            "name": "Relance",
            "subject": "Votre visite à {{ party.city }}",
            "body": "Bonjour {{ contact.first_name }},\n\nMerci — {{ me.name }}",
        },
    )
    services.save_signature(acting_user=world["manager"], text="Mona Lisa\nAcme SRL")
    client = logged_in(world["manager"])
    page = client.get(
        f"/crm/mail/new/?party={world['party'].pk}&contact={world['contact'].pk}&template={template.pk}"
    ).content.decode()
    assert "Votre visite à Namur" in page
    assert "Bonjour Jean,\n\nMerci — Mona Lisa\n\n-- \nMona Lisa\nAcme SRL" in page.replace("&#x27;", "'")


@pytest.mark.parametrize(
    "body, expected",
    [
        ("Bonjour {{ contact.password }}", "unknown field “contact.password”"),
        ("{{ ''.__class__.__mro__ }}", "not allowed"),
        ("Line one\n{% for x in range(10**9) %}x{% endfor %}", "Line 2"),
        ("{{ secret }}", "unknown field “secret”"),
    ],
)
def test_a_template_reaching_outside_its_fields_is_refused_with_its_line(world, body, expected):
    with pytest.raises(InvalidInput) as refused:
        services.save_template(
            acting_user=world["manager"], template=None, values={"name": "x", "subject": "x", "body": body}
        )
    assert expected in refused.value.errors["body"]


def test_only_managers_change_templates_and_the_page_says_so(world):
    user = make_user("otto")
    with pytest.raises(PermissionDenied):
        services.save_template(acting_user=user, template=None, values={"name": "x", "subject": "x", "body": "x"})
    response = logged_in(user).post("/crm/mail/templates/new/", {"name": "x", "subject": "x", "body": "x"})
    assert response.status_code == 403 and "Only managers" in response.content.decode()
