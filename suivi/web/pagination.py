"""Pagination of long lists: a count capped so it stays cheap, and pages found by their ids.

Django's paginator counts every matching row on every view (a cost that grows with the data) and
refuses a page past the count. Here the count stops at ``COUNT_CAP`` ("more than 10,000
results", see docs/adr/0001-capped-counts.md) and any page can be asked: one row more than a page
is read to know whether a next page exists.
"""

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from suivi.core.counts import capped_count

MAX_PAGE = 100_000


@dataclass
class Page:
    object_list: list[Any]
    number: int
    count: int
    count_capped: bool
    has_next: bool
    per_page: int

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def num_pages(self) -> int | None:
        """The number of pages, unknown (None) past the counting cap."""
        if self.count_capped:
            return None
        return max(1, -(-self.count // self.per_page))


def page_of(qs: QuerySet, number: Any, per_page: int, *, deferred_join: bool = False) -> Page:
    """Page ``number`` (1 for anything unreadable) of ``qs``.

    ``deferred_join``: find the page's ids first, then load those rows — ``OFFSET n`` over ids
    walks the sort index only (every party sort has a covering index), so page 4,000 of 200,000
    parties costs about what page 1 does.
    """
    try:
        number = min(max(int(number), 1), MAX_PAGE)
    except (TypeError, ValueError):
        number = 1
    count, capped = capped_count(qs)
    if not capped and number > 1:
        number = min(number, max(1, -(-count // per_page)))  # past the end: the last page
    bottom = (number - 1) * per_page
    if deferred_join:
        ids = list(qs.values_list("pk", flat=True)[bottom : bottom + per_page + 1])
        more = len(ids) > per_page
        by_id = {row.pk: row for row in qs.filter(pk__in=ids[:per_page])} if ids else {}
        rows = [by_id[pk] for pk in ids[:per_page] if pk in by_id]
    else:
        rows = list(qs[bottom : bottom + per_page + 1])
        more = len(rows) > per_page
        rows = rows[:per_page]
    return Page(rows, number, count, capped, more, per_page)
