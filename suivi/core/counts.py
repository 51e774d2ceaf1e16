"""Counts that stay cheap: a list says how many rows match up to a cap ("more than 10,000"), so
the cost of showing it does not grow with the data (docs/adr/0001-capped-counts.md)."""

from django.db.models import QuerySet

COUNT_CAP = 10_000


def capped_count(qs: QuerySet, cap: int | None = None) -> tuple[int, bool]:
    """How many rows ``qs`` holds, counted up to ``cap``; the flag says the cap was reached."""
    cap = COUNT_CAP if cap is None else cap
    n = qs.order_by()[: cap + 1].count()
    return min(n, cap), n > cap
