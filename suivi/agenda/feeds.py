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
from functools import lru_cache
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


# --- the events, written as RFC 5545 content lines ---------------------------------------------------
# icalendar builds the calendar's frame (its properties and VTIMEZONE) and reads feeds back in the
# tests; the events themselves are written here: through icalendar's objects a feed of a thousand
# events took over a second (a property object, escaping and folding per line), this ~30 ms.

_TEXT_ESCAPES = str.maketrans({"\\": "\\\\", ";": "\\;", ",": "\\,", "\n": "\\n", "\r": ""})


def _text(value: str) -> str:
    """A TEXT value (RFC 5545 §3.3.11): backslash, semicolon, comma and newline escaped."""
    return value.translate(_TEXT_ESCAPES)


def _fold(line: str) -> str:
    """A content line folded at 75 octets (§3.1), never inside a UTF-8 sequence."""
    encoded = line.encode()
    if len(encoded) <= 75:
        return line
    parts, current, size = [], [], 0
    for char in line:
        width = len(char.encode())
        if size + width > (75 if not parts else 74):
            parts.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    parts.append("".join(current))
    return "\r\n ".join(parts)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _when(name: str, moment: datetime | date) -> str:
    if isinstance(moment, datetime):
        return f"{name};TZID={settings.TIME_ZONE}:{_local(moment):%Y%m%dT%H%M%S}"
    return f"{name};VALUE=DATE:{moment:%Y%m%d}"


def _event(
    action: Action,
    busy: bool,
    uid: str,
    *,
    recurrence_id: datetime | None = None,
    removed: list[datetime] = (),  # type: ignore[assignment]
) -> str:
    """One VEVENT: a plain action, a series' master (RRULE, EXDATE of the removed occurrences) or
    an exception (``recurrence_id``: the start it replaces, with the master's UID)."""
    changed = _utc(action.updated_at or action.created_at)
    lines = ["BEGIN:VEVENT", f"UID:{_text(uid)}", f"DTSTAMP:{changed}", f"LAST-MODIFIED:{changed}"]
    lines.append(f"SEQUENCE:{action.version}")
    if action.all_day:
        first, after = _all_day_dates(action)
        lines += [_when("DTSTART", first), _when("DTEND", after)]
    else:
        lines += [
            _when("DTSTART", action.start),
            _when("DTEND", action.start + recurrence.duration_of(action)),
        ]
    if recurrence_id is not None:
        lines.append(_when("RECURRENCE-ID", _original(action, recurrence_id)))
    if action.rrule:
        lines.append(f"RRULE:{action.rrule}")
        if removed:
            dates = [_original(action, d) for d in removed]
            if action.all_day:
                lines.append("EXDATE;VALUE=DATE:" + ",".join(f"{d:%Y%m%d}" for d in dates))
            else:
                lines.append(f"EXDATE;TZID={settings.TIME_ZONE}:" + ",".join(f"{d:%Y%m%dT%H%M%S}" for d in dates))
    if busy:
        lines += [f"SUMMARY:{_text(_('Busy'))}", "CLASS:PRIVATE", "TRANSP:OPAQUE"]
    else:
        lines.append(f"SUMMARY:{_text(action.subject)}")
        description = _plain(action.description)
        if action.party_id:
            description = f"{action.party.name}\n{description}".strip()
        if description:
            lines.append(f"DESCRIPTION:{_text(description)}")
        lines.append("CLASS:PRIVATE" if action.private else "CLASS:PUBLIC")
        lines.append(f"CATEGORIES:{_text(str(action.action_type))}")
    lines += ["STATUS:CONFIRMED", "END:VEVENT"]
    return "".join(_fold(line) + "\r\n" for line in lines)


def _original(action: Action, moment: datetime) -> datetime | date:
    return _local(moment).date() if action.all_day else _local(moment)


@lru_cache(maxsize=8)
def _frame(zone_name: str) -> tuple[str, str]:
    """The text before and after the events of a calendar: its VTIMEZONE is made once."""
    calendar = icalendar.Calendar()
    calendar.add_component(icalendar.Timezone.from_tzid(zone_name))
    text = calendar.to_ical().decode()
    head, _sep, tail = text.partition("END:VCALENDAR")
    return head.removeprefix("BEGIN:VCALENDAR\r\n"), "END:VCALENDAR" + tail


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
        host = _host()
        masters = {item.action.pk for item in items if item.action.rrule}
        exceptions: dict[int, set[datetime]] = {}
        for item in items:
            action = item.action
            if action.series_id in masters and action.recurrence_id is not None:
                exceptions.setdefault(action.series_id, set()).add(action.recurrence_id)
        events = []
        for item in items:
            action = item.action
            if action.series_id in masters and action.recurrence_id is not None:
                uid = f"action-{action.series_id}@{host}"
                events.append(_event(action, item.busy, uid, recurrence_id=action.recurrence_id))
                continue
            replaced = exceptions.get(action.pk, set())
            removed = sorted(d for d in recurrence.excluded(action) if d not in replaced) if action.rrule else []
            events.append(_event(action, item.busy, f"action-{action.pk}@{host}", removed=removed))
        zone, footer = _frame(settings.TIME_ZONE)
        header = [
            "BEGIN:VCALENDAR",
            f"PRODID:{PRODID}",
            "VERSION:2.0",
            "CALSCALE:GREGORIAN",
            f"X-WR-CALNAME:{_text(f'Suivi — {name}')}",
            f"X-WR-TIMEZONE:{settings.TIME_ZONE}",
        ]
        text = "".join(_fold(line) + "\r\n" for line in header) + zone + "".join(events) + footer
    body = text.encode()
    return Feed(body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
