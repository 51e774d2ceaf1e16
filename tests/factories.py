"""Test data built through the services, as users would make it."""

import itertools

from suivi.parties import services as party_services

_numbers = itertools.count(1)


def party(user=None, **values):
    n = next(_numbers)
    values = {"name": f"Party {n}", "is_customer": True, "city": "Namur", **values}
    return party_services.create_party(acting_user=user, values=values)


def contact(user=None, party=None, function="", **values):
    n = next(_numbers)
    values = {"first_name": "Marie", "last_name": f"Contact{n}", **values}
    return party_services.create_contact(acting_user=user, values=values, party=party, function=function)


def action_type(name="Call"):
    from suivi.activities.models import ActionType

    return ActionType.objects.filter(name_en=name).first() or ActionType.objects.create(
        name_fr=name, name_en=name, name_nl=name
    )


def action(user, **values):
    from suivi.activities import services as action_services

    contacts = values.pop("contacts", ())
    n = next(_numbers)
    values = {"subject": f"Action {n}", "action_type": action_type(), "followed_by": user, **values}
    return action_services.create_action(acting_user=user, values=values, contacts=contacts)


def folder(user=None, **values):
    from suivi.activities import services as action_services

    n = next(_numbers)
    return action_services.create_folder(acting_user=user, values={"name": f"Folder {n}", **values})
