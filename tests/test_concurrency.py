"""Ten people save the same party from the same version (RELIABILITY S9): exactly one wins,
the others get a conflict, nothing is lost silently."""

import threading

import pytest
from django.db import connection

from suivi.core.errors import ConflictError
from suivi.parties import services

from . import factories


@pytest.mark.django_db(transaction=True)
def test_ten_simultaneous_saves_of_one_version_let_exactly_one_through(plain_user):
    party = factories.party(plain_user, name="Shared")
    barrier = threading.Barrier(10)
    outcomes: list[str] = []

    def save(n: int) -> None:
        barrier.wait()
        try:
            services.update_party(acting_user=plain_user, party=party, values={"name": f"Name {n}"}, expected_version=1)
            outcomes.append("saved")
        except ConflictError:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=save, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["conflict"] * 9 + ["saved"]
    party.refresh_from_db()
    assert party.version == 2 and party.name.startswith("Name ")
