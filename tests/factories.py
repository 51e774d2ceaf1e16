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
    return party_services.create_contact(acting_user=user, values=values, party=party,
                                         function=function)
