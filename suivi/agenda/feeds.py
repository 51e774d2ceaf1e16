"""ICS feeds: a user's agenda, or a saved view, as an RFC 5545 calendar that Outlook, Google
Calendar and Apple Calendar subscribe to at a secret address.

What goes in (``feed_actions``, the agenda's own read and visibility rule):

- one VEVENT per plain action;
- a series once, as its master: DTSTART in the company's zone (TZID) + RRULE + EXDATE for each
  occurrence removed from the series — but not for the occurrences that were edited on their
  own: each of those *exceptions* is a VEVENT with the master's UID and a RECURRENCE-ID, which
  replaces the occurrence in every client;
- others' private actions as busy blocks: SUMMARY "Busy", CLASS:PRIVATE, nothing else.

UIDs are ``action-<pk>@<host>`` (stable whatever is edited); SEQUENCE is the action's version,
so a client sees an edit as a newer revision; DTSTAMP and LAST-MODIFIED are its last change.
The content depends on the data only (no "now"), so its digest is a sound ETag.
"""

import hashlib
import html
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlparse

import icalendar
from django.conf import settings
from django.utils import timezone, translation
from django.utils.html import strip_tags
from django.utils.translation import gettext as _

from suivi.activities import recurrence
from suivi.activities.models import Action

from .models import CalendarFeed
from .queries import feed_actions, visible_views
from .services import feed_digest

# The window a feed covers: a year back, two years ahead (series included whatever their start).
BACK = timedelta(days=365)
AHEAD = timedelta(days=2 * 365)
PRODID = "-//Suivi//Agenda//EN"


@dataclass
class Feed:
    """A feed's content and its digest (the ETag); its Last-Modified is when this content was
    first served (``services.note_feed_content``), which a deletion moves too."""

    body: bytes
    etag: str


def find_feed(token: str) -> CalendarFeed | None:
    """The live feed of ``token``: None when unknown, revoked, or its owner deactivated."""
    if not token or len(token) > 200:
        return None
    feed = (
        CalendarFeed.objects.select_related("owner", "view")
        .filter(token_digest=feed_digest(token), revoked_at__isnull=True)
        .first()
    )
    if feed is None or not feed.owner.is_active:
        return None
    return feed


def _host() -> str:
    return urlparse(settings.SUIVI_BASE_URL).hostname or "suivi"


def _plain(text: str) -> str:
    """The rich-text description as plain text (paragraphs and line breaks kept)."""
    text = re.sub(r"(?i)<br\s*/?>|</p>|</li>|</div>", "\n", text or "")
    return html.unescape(strip_tags(text)).strip()


def _local(moment: datetime) -> datetime:
    return moment.astimezone(recurrence.company_zone())


def _all_day_dates(action: Action) -> tuple[date, date]:
    first = _local(action.start).date()
    days = max(1, -(-recurrence.duration_of(action) // timedelta(days=1)))
    return first, first + timedelta(days=days)


def _event(action: Action, busy: bool, uid: str) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", uid)
    changed = (action.updated_at or action.created_at).astimezone(UTC)
    event.add("dtstamp", changed)
    event.add("last-modified", changed)
    event.add("sequence", action.version)
    if action.all_day:
        first, after = _all_day_dates(action)
        event.add("dtstart", first)
        event.add("dtend", after)
    else:
        event.add("dtstart", _local(action.start))
        event.add("dtend", _local(action.start + recurrence.duration_of(action)))
    if busy:
        event.add("summary", _("Busy"))
        event.add("class", "PRIVATE")
        event.add("transp", "OPAQUE")
    else:
        event.add("summary", action.subject)
        description = _plain(action.description)
        if action.party_id:
            description = f"{action.party.name}\n{description}".strip()
        if description:
            event.add("description", description)
        event.add("class", "PRIVATE" if action.private else "PUBLIC")
        event.add("categories", [str(action.action_type)])
    event.add("status", "CONFIRMED")
    return event


def _original(action: Action, moment: datetime) -> datetime | date:
    return _local(moment).date() if action.all_day else _local(moment)


def build_feed(feed: CalendarFeed, *, now: datetime | None = None) -> Feed | None:
    """The calendar of ``feed`` as its owner may see it, or None if the feed's view is no longer
    one they may open."""
    owner = feed.owner
    if feed.view_id is not None:
        view = visible_views(owner).filter(pk=feed.view_id).first()
        if view is None:
            return None
        user_ids = list(view.users.values_list("pk", flat=True))
        name = view.name
    else:
        user_ids = [owner.pk]
        name = owner.get_full_name() or owner.get_username()
    now = now or timezone.now()
    with translation.override(owner.language or settings.LANGUAGE_CODE):
        items = feed_actions(owner, user_ids, now - BACK, now + AHEAD)
        calendar = icalendar.Calendar()
        calendar.add("prodid", PRODID)
        calendar.add("version", "2.0")
        calendar.add("calscale", "GREGORIAN")
        calendar.add("x-wr-calname", f"Suivi — {name}")
        calendar.add("x-wr-timezone", settings.TIME_ZONE)
        host = _host()
        masters = {item.action.pk for item in items if item.action.rrule}
        exceptions: dict[int, set[datetime]] = {}
        for item in items:
            action = item.action
            if action.series_id in masters and action.recurrence_id is not None:
                exceptions.setdefault(action.series_id, set()).add(action.recurrence_id)
        for item in items:
            action = item.action
            if action.series_id in masters and action.recurrence_id is not None:
                event = _event(action, item.busy, f"action-{action.series_id}@{host}")
                event.add("recurrence-id", _original(action, action.recurrence_id))
            else:
                event = _event(action, item.busy, f"action-{action.pk}@{host}")
            if action.rrule:
                event.add("rrule", icalendar.vRecur.from_ical(action.rrule))
                replaced = exceptions.get(action.pk, set())
                removed = sorted(d for d in recurrence.excluded(action) if d not in replaced)
                if removed:
                    event.add("exdate", [_original(action, d) for d in removed])
            calendar.add_component(event)
        calendar.add_missing_timezones()
    body = calendar.to_ical()
    return Feed(body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
