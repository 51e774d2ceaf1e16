"""Recurring actions: RFC 5545 recurrence rules, checked when saved and expanded on read.

A series is one action row (the *master*) whose ``rrule`` repeats it from its ``start``; its
occurrences are never stored one row per occurrence. The rule is read in the company's time
zone, so a weekly meeting at 09:00 stays at 09:00 across the daylight-saving changes. An
occurrence removed from the series is listed in the master's ``exdates`` (its original start);
an occurrence edited on its own becomes an *exception*: an action of its own whose ``series`` is
the master and whose ``recurrence_id`` is the original start (also listed in ``exdates``).

Only the parts of RRULE an agenda needs are accepted (an allow-list): daily, weekly, monthly and
yearly frequencies with their BY… parts, INTERVAL, COUNT and UNTIL. Sub-daily frequencies and
BYHOUR / BYMINUTE / BYSECOND are refused: they would let one row stand for millions of events.
Expansion is always bounded by the range read, whatever the rule says.
"""

import ast
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr
from django.conf import settings
from django.utils.translation import gettext as _

# Actions longer than this are flagged ``long_event`` and read apart: the agenda's index range on
# the start goes this far back before the range it shows.
LOOK_BACK = timedelta(days=14)
# At most this many occurrences of one series in one read (a year of a daily series, with room).
MAX_PER_READ = 1000
# A rule must yield its first occurrence within this time, and a COUNT longer than this many
# occurrences leaves the series open-ended for queries (its exact end is not worth computing).
FIRST_WITHIN = timedelta(days=366 * 10)
EXACT_END_COUNT = 5000

FREQUENCIES = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}
PARTS = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "BYYEARDAY", "WKST"}


class InvalidRule(ValueError):
    """A recurrence rule Suivi does not accept; the message says why, in the user's language."""


def company_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _parts(text: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for item in text.strip().removeprefix("RRULE:").split(";"):
        if not item:
            continue
        name, sep, value = item.partition("=")
        name = name.strip().upper()
        if not sep or not value.strip():
            raise InvalidRule(_("“%(part)s” is not a part of a recurrence rule (NAME=value).") % {"part": item})
        if name not in PARTS:
            raise InvalidRule(_("The recurrence part %(name)s is not supported.") % {"name": name})
        if name in parts:
            raise InvalidRule(_("The recurrence part %(name)s is given twice.") % {"name": name})
        parts[name] = value.strip().upper()
    return parts


def _rule(text: str, start: datetime) -> rrule:
    """The dateutil rule of ``text`` from ``start`` (aware), read in the company's time zone."""
    return _parsed_rule(text, start, settings.TIME_ZONE)


@lru_cache(maxsize=2048)
def _parsed_rule(text: str, start: datetime, zone_name: str) -> rrule:
    """Rules are parsed once per (text, start): a week view reads the same series every time.
    A dateutil rule without its cache is immutable, so sharing it is safe."""
    local_start = start.astimezone(ZoneInfo(zone_name))
    parts = _parts(text)
    if parts.get("FREQ") not in FREQUENCIES:
        raise InvalidRule(_("A recurrence repeats daily, weekly, monthly or yearly."))
    if "COUNT" in parts and "UNTIL" in parts:
        raise InvalidRule(_("A recurrence ends after a number of times or on a date, not both."))
    if "COUNT" in parts and not (parts["COUNT"].isdigit() and 1 <= int(parts["COUNT"]) <= 1_000_000):
        raise InvalidRule(_("The number of times must be between 1 and 1,000,000."))
    if "INTERVAL" in parts and not (parts["INTERVAL"].isdigit() and 1 <= int(parts["INTERVAL"]) <= 1000):
        raise InvalidRule(_("The interval must be between 1 and 1000."))
    if "UNTIL" in parts:
        until = parts["UNTIL"]
        # A date-only UNTIL (all-day series) or a UTC date-time: dateutil needs it aware here.
        if len(until) == 8:
            parts["UNTIL"] = until + "T235959Z"
        elif not until.endswith("Z"):
            parts["UNTIL"] = until + "Z"
    body = ";".join(f"{name}={value}" for name, value in parts.items())
    try:
        return rrulestr(body, dtstart=local_start, cache=False)  # type: ignore[return-value]
    except (ValueError, TypeError, OverflowError, KeyError) as e:
        raise InvalidRule(_("This recurrence rule cannot be read: %(error)s") % {"error": e}) from e


def normalise(text: str, start: datetime | None) -> str:
    """``text`` checked and written the one way Suivi stores it ("" for no recurrence).

    Raises ``InvalidRule`` for a rule outside the allow-list, one that cannot be read, or one
    that yields no occurrence within ten years of ``start``."""
    text = (text or "").strip()
    if not text:
        return ""
    if start is None:
        raise InvalidRule(_("A recurring action needs a start."))
    rule = _rule(text, start)
    local_start = start.astimezone(company_zone())
    if not rule.between(local_start, local_start + FIRST_WITHIN, inc=True, count=1):
        raise InvalidRule(_("This recurrence never happens: no occurrence in the next ten years."))
    return ";".join(f"{name}={value}" for name, value in _parts(text).items())


def series_end(text: str, start: datetime, duration: timedelta) -> datetime | None:
    """The end of the last occurrence of a series, or None when it is open-ended (or long)."""
    parts = _parts(text)
    rule = _rule(text, start)
    if "UNTIL" in parts or ("COUNT" in parts and int(parts["COUNT"]) <= EXACT_END_COUNT):
        last = None
        for last in rule:  # noqa: B007 — bounded by UNTIL or by EXACT_END_COUNT
            pass
        if last is None:
            return start + duration
        return last.astimezone(UTC) + duration
    return None


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of an action: its own start and end (aware, UTC) and, in a series, the
    original start that identifies it (``recurrence_id``)."""

    start: datetime
    end: datetime
    recurrence_id: datetime | None


def duration_of(action) -> timedelta:
    if action.start is None:
        return timedelta(0)
    if action.end is not None:
        return action.end - action.start
    if action.all_day:
        return timedelta(days=1)
    return timedelta(minutes=action.duration_minutes or action.action_type.default_duration or 30)


def excluded(action) -> set[datetime]:
    return {datetime.fromisoformat(value) for value in action.exdates or ()}


def occurrences(action, range_start: datetime, range_end: datetime) -> list[Occurrence]:
    """The occurrences of ``action`` that overlap [range_start, range_end), at most
    ``MAX_PER_READ``. A plain action has one (or none); a series is expanded within the range."""
    if action.start is None:
        return []
    duration = duration_of(action)
    if not action.rrule:
        end = action.start + duration
        if action.start < range_end and (
            end > range_start or (duration == timedelta(0) and action.start >= range_start)
        ):
            return [Occurrence(action.start, end, action.recurrence_id)]
        return []
    zone = company_zone()
    rule = _rule(action.rrule, action.start)
    skip = excluded(action)
    found: list[Occurrence] = []
    after = (range_start - duration).astimezone(zone)
    for local in rule.xafter(after, inc=False):
        begin = local.astimezone(UTC)
        if begin >= range_end:
            break
        if begin in skip:
            continue
        end = begin + duration
        if end > range_start or (duration == timedelta(0) and begin >= range_start):
            found.append(Occurrence(begin, end, begin))
        if len(found) >= MAX_PER_READ:
            break
    return found


def occurrence_at(action, original_start: datetime) -> bool:
    """Whether ``original_start`` is an occurrence of the series ``action`` (not removed)."""
    if not action.rrule or action.start is None:
        return action.start == original_start
    if original_start in excluded(action):
        return False
    rule = _rule(action.rrule, action.start)
    local = original_start.astimezone(company_zone())
    found = rule.between(local - timedelta(seconds=1), local + timedelta(seconds=1), inc=True, count=1)
    return bool(found) and found[0].astimezone(UTC) == original_start.astimezone(UTC)


def until_before(text: str, original_start: datetime) -> str:
    """``text`` ended just before ``original_start`` (for *this and the following* occurrences):
    COUNT gives way to an UNTIL one second earlier."""
    parts = _parts(text)
    parts.pop("COUNT", None)
    parts["UNTIL"] = (original_start.astimezone(UTC) - timedelta(seconds=1)).strftime("%Y%m%dT%H%M%SZ")
    return ";".join(f"{name}={value}" for name, value in parts.items())


def remaining_count(text: str, start: datetime, original_start: datetime) -> str:
    """``text`` for the part of a series that starts at ``original_start``: a COUNT is reduced by
    the occurrences before it; an UNTIL or an open end stays."""
    parts = _parts(text)
    if "COUNT" not in parts:
        return text
    rule = _rule(text, start)
    before = len(rule.between(start.astimezone(company_zone()), original_start.astimezone(company_zone()), inc=False))
    before += 1  # the series' own start, which between() leaves out
    parts["COUNT"] = str(max(1, int(parts["COUNT"]) - before))
    return ";".join(f"{name}={value}" for name, value in parts.items())


def describe(text: str) -> str:
    """A short description of a rule in the user's language (“Weekly”, “Every 2 weeks”…)."""
    if not text:
        return ""
    parts = _parts(text)
    interval = int(parts.get("INTERVAL", "1"))
    names = {
        "DAILY": (_("Daily"), _("Every %(n)s days")),
        "WEEKLY": (_("Weekly"), _("Every %(n)s weeks")),
        "MONTHLY": (_("Monthly"), _("Every %(n)s months")),
        "YEARLY": (_("Yearly"), _("Every %(n)s years")),
    }
    one, many = names.get(parts.get("FREQ", ""), (text, text))
    label = one if interval == 1 else many % {"n": interval}
    if "COUNT" in parts:
        label += ", " + _("%(n)s times") % {"n": parts["COUNT"]}
    elif "UNTIL" in parts:
        day = parts["UNTIL"][:8]
        label += ", " + _("until %(day)s") % {
            "day": date(int(day[:4]), int(day[4:6]), int(day[6:8])).strftime("%d/%m/%Y")
        }
    return label


# --- how the history shows what was recorded (registered in ``apps``) -------------------------


def shown_moment(value) -> str | None:
    """A moment recorded as text (``2026-11-30 08:00:00+00:00``, ISO or not) in the company's
    zone, one format: ``30/11/2026 09:00``."""
    if value in (None, ""):
        return None
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(company_zone()).strftime("%d/%m/%Y %H:%M")


def shown_day(value) -> str | None:
    """A day recorded as text (``2026-11-30``) as ``30/11/2026``."""
    if value in (None, ""):
        return None
    return date.fromisoformat(str(value)[:10]).strftime("%d/%m/%Y")


def shown_moments(values) -> str:
    """The excluded occurrences of a series (``exdates``), as local dates and times. The audit
    recorded the list as its text (``"['2026-11-30T08:00:00+00:00']"``)."""
    if isinstance(values, str):
        try:
            values = ast.literal_eval(values) if values.strip() else []
        except SyntaxError as e:  # not a list's text: the history shows it as it was
            raise ValueError(values) from e
    if not isinstance(values, list | tuple):
        raise TypeError(values)
    return "; ".join(shown_moment(v) or "" for v in values)


def shown_rule(text) -> str | None:
    """A recurrence rule as ``describe`` says it (“Weekly, 10 times”)."""
    return describe(str(text)) if text else None
