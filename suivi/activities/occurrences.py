"""Recurring actions changed and deleted by scope: one occurrence (it becomes an *exception*, an
action of its own), this and the following (the series is split), or the whole series. The
recurrence rules themselves are ``activities.recurrence``; every write here goes through the
checks of ``activities.services``."""

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from suivi.core import audit
from suivi.core.errors import LATEST, PermissionDenied, lock_for_update
from suivi.core.errors import InvalidInput as InvalidAction
from suivi.lib.html import sanitise

from . import recurrence
from .keywords import refresh_keywords
from .models import (
    Action,
)
from .services import (
    Errors,
    _check_action,
    _check_recurrence,
    _editable,
    _set_reminders,
    _to_the_minute,
    _when,
    update_action,
)

# --- recurring actions: one occurrence, this and the following, the whole series -------------

OCCURRENCE_SCOPES = ("this", "following", "all")

# What an exception or a new series copies from its master (then changed by the user's values).
SERIES_FIELDS = (
    "subject",
    "description",
    "action_type",
    "party",
    "folder",
    "due_date",
    "all_day",
    "duration_minutes",
    "status",
    "priority",
    "followed_by",
    "private",
    "billable",
    "bill_quantity",
    "unit_price",
    "invoice_text",
)

# Lazy: read in the language of the request that meets the conflict, not of the import.
SERIES_CONFLICT = gettext_lazy(
    "This action was changed by someone else while you were editing it. Your changes were "
    "not saved: reload to see theirs."
)


def _utc(moment: datetime) -> datetime:
    from datetime import UTC

    if timezone.is_naive(moment):
        raise InvalidAction({"occurrence": _("The occurrence's start must say its time zone.")})
    try:
        return moment.astimezone(UTC).replace(second=0, microsecond=0)
    except OverflowError as e:
        raise InvalidAction({"occurrence": _("This date is out of range.")}) from e


def _iso(moment: datetime) -> str:
    return _utc(moment).isoformat()


def _shift(moment: datetime, old_anchor: datetime, new_anchor: datetime) -> datetime:
    """``moment`` moved as ``old_anchor`` moved to ``new_anchor``, in wall-clock time of the
    company's zone: moving a 09:00 occurrence to 10:00 moves a 09:00 exdate in summer to 10:00
    too, across a daylight-saving change."""
    from datetime import UTC

    zone = recurrence.company_zone()
    delta = new_anchor.astimezone(zone).replace(tzinfo=None) - old_anchor.astimezone(zone).replace(tzinfo=None)
    local = moment.astimezone(zone).replace(tzinfo=None) + delta
    return local.replace(tzinfo=zone).astimezone(UTC)


def _check_scope(scope: str) -> None:
    if scope not in OCCURRENCE_SCOPES:
        raise InvalidAction({"scope": _("Choose this occurrence, this and the following ones, or the whole series.")})


def _shown(moment: datetime) -> str:
    try:
        return timezone.localtime(moment).strftime("%d/%m/%Y %H:%M")
    except OverflowError:
        return moment.isoformat()


def _occurrence_of(master: Action, original_start: datetime) -> Action | None:
    """The exception that replaces ``original_start`` in ``master``, if any; refuses a start that
    is not an occurrence of the series."""
    exception = master.exceptions.filter(recurrence_id=original_start).first()
    try:
        found = exception is not None or recurrence.occurrence_at(master, original_start)
    except (ValueError, OverflowError):  # a moment too far for the calendar: not an occurrence
        found = False
    if not found:
        raise InvalidAction(
            {
                "occurrence": _("%(when)s is not an occurrence of the series “%(subject)s”.")
                % {
                    "when": _shown(original_start),
                    "subject": master.subject,
                }
            }
        )
    return exception


def _copy_of(master: Action, start: datetime) -> dict[str, Any]:
    """The values of ``master`` for an action starting at ``start`` (an occurrence's times)."""
    values: dict[str, Any] = {name: getattr(master, name) for name in SERIES_FIELDS}
    values["start"] = start
    values["end"] = start + (master.end - master.start) if master.end and master.start else None
    return values


def _save_new(acting_user, master: Action, values: dict[str, Any], contacts, participants) -> Action:
    """Create an action copied from ``master`` (an exception or the new part of a split series),
    checked like any action; its creator stays the master's, so who may see and change it does
    not change."""
    action = Action(created_by_id=master.created_by_id, **values)
    action.description = sanitise(action.description)
    _to_the_minute(action)
    contacts = list(master.contacts.all()) if contacts is None else list(contacts)
    errors = _check_action(action, contacts, previous_follower_id=master.followed_by_id)
    if errors:
        raise InvalidAction(errors)
    action.when = _when(action)
    action.save()
    action.contacts.set(contacts)
    action.participants.set(list(master.participants.all()) if participants is None else list(participants))
    refresh_keywords([action])
    audit.record(acting_user, "create", action)
    return action


def _write_series(acting_user, master: Action, values: dict[str, Any]) -> None:
    """Save bookkeeping changes (exdates, rule, start) of a locked ``master``; one audit row."""
    changes = audit.diff(master, values)
    for name, value in values.items():
        setattr(master, name, value)
    errors: Errors = {}
    _check_recurrence(master, errors)
    if errors:
        raise InvalidAction(errors)
    if changes:
        master.when = _when(master)
        master.version += 1
        master.save()
        audit.record(acting_user, "update", master, changes)


@transaction.atomic
def change_occurrence(
    *,
    acting_user,
    action: Action,
    original_start: datetime,
    scope: str,
    values: dict[str, Any],
    expected_version: int | str | None,
    contacts=None,
    participants=None,
    reminders=None,
) -> Action:
    """Change one occurrence of a recurring action, the occurrences from it on, or the series.

    ``original_start`` identifies the occurrence (its start in the series, before any change);
    ``values`` are the fields the user changed on it, ``expected_version`` the version of
    ``action`` they started from (409 when stale). Returns the action that now holds the
    occurrence:

    - ``this``: an *exception* (``series`` = master, ``recurrence_id`` = original start) copied
      from the master with ``values``, its contacts and participants; the original start joins
      the master's ``exdates``. An existing exception is updated instead.
    - ``following``: the master ends just before the occurrence; a new series starts there with
      the changes (a COUNT rule keeps only the remaining occurrences); the exdates and exceptions
      from that occurrence on move to the new series (shifted with it if its time changed).
    - ``all``: the master changes; a moved occurrence moves the series' start by the same
      wall-clock delta, and its exdates and exceptions move with it (kept).

    A plain action is simply updated whatever the scope. ``action`` may also be an exception:
    ``this`` updates it; ``following`` and ``all`` give it back to the series (it is deleted) and
    apply to the master from its original start.
    ``reminders`` (minutes before) belong to a series: they change with ``following`` and
    ``all`` only.
    """
    _check_scope(scope)
    values = dict(values)
    if action.series_id is None and not action.rrule:
        return update_action(
            acting_user=acting_user,
            action=action,
            values=values,
            contacts=contacts,
            participants=participants,
            reminders=reminders,
            expected_version=expected_version,
        )
    original_start = _utc(original_start)
    if action.series_id is not None:
        exception = lock_for_update(Action, action.pk, expected_version, str(SERIES_CONFLICT))
        _editable(acting_user, exception)
        if scope == "this":
            return update_action(
                acting_user=acting_user,
                action=exception,
                values=values,
                contacts=contacts,
                participants=participants,
                expected_version=LATEST,
            )
        master = lock_for_update(Action, exception.series_id, LATEST, str(SERIES_CONFLICT))
        original_start = _utc(exception.recurrence_id)
        audit.record(acting_user, "delete", exception)
        exception.delete()
        _write_series(
            acting_user,
            master,
            {"exdates": [d for d in master.exdates if _iso(datetime.fromisoformat(d)) != _iso(original_start)]},
        )
    else:
        master = lock_for_update(Action, action.pk, expected_version, str(SERIES_CONFLICT))
    _editable(acting_user, master)
    exception = _occurrence_of(master, original_start)

    if scope == "this":
        rule = values.pop("rrule", None)
        if rule and not _same_rule(rule, master):
            raise InvalidAction(
                {"rrule": _("An occurrence changed on its own cannot repeat; change the whole series instead.")}
            )
        if exception is not None:
            return update_action(
                acting_user=acting_user,
                action=exception,
                values=values,
                contacts=contacts,
                participants=participants,
                expected_version=LATEST,
            )
        new_values = {**_copy_of(master, original_start), **values, "series": master, "recurrence_id": original_start}
        if values.get("start") is not None and "end" not in values and new_values["end"] is not None:
            new_values["end"] = values["start"] + recurrence.duration_of(master)  # moved, same length
        created = _save_new(acting_user, master, new_values, contacts, participants)
        _write_series(acting_user, master, {"exdates": sorted({*master.exdates, _iso(original_start)})})
        return created

    if scope == "following" and original_start != _utc(master.start):
        if "rrule" in values and _same_rule(values["rrule"], master):
            del values["rrule"]  # unchanged: the new part keeps what is left of the series
        new_start = values.get("start") or original_start
        new_values = {
            **_copy_of(master, original_start),
            "rrule": recurrence.remaining_count(master.rrule, master.start, original_start),
            **values,
        }
        if "end" not in values and master.end and "start" in values:
            new_values["end"] = new_start + (master.end - master.start)
        later = [d for d in master.exdates if datetime.fromisoformat(d) >= original_start]
        new_values["exdates"] = sorted(
            {_iso(_shift(datetime.fromisoformat(d), original_start, new_start)) for d in later}
        )
        exdates_kept = [d for d in master.exdates if d not in later]
        moved = list(master.exceptions.filter(recurrence_id__gte=original_start))
        # End the master first: the new series' own check then reads a consistent state.
        _write_series(
            acting_user,
            master,
            {"rrule": recurrence.until_before(master.rrule, original_start), "exdates": exdates_kept},
        )
        new_series = _save_new(acting_user, master, new_values, contacts, participants)
        _set_reminders(
            new_series, [r.minutes_before for r in _reminders_of(master)] if reminders is None else reminders
        )
        _hand_over_deliveries(master, new_series, original_start)
        for each in moved:
            _move_exception(acting_user, each, new_series, _shift(each.recurrence_id, original_start, new_start))
        return new_series

    # The whole series (or "following" from its first occurrence, which is the same).
    if "start" in values and values["start"] is not None:
        new_start = _utc(values["start"])
        duration = (values["end"] - values["start"]) if values.get("end") else recurrence.duration_of(master)
        values["start"] = _shift(master.start, original_start, new_start)
        if master.end is not None or values.get("end") is not None:
            values["end"] = values["start"] + duration
        if new_start != original_start:
            values["exdates"] = sorted(
                _iso(_shift(datetime.fromisoformat(d), original_start, new_start)) for d in master.exdates
            )
            for each in list(master.exceptions.all()):
                _move_exception(acting_user, each, master, _shift(each.recurrence_id, original_start, new_start))
    elif values.get("end") is not None:
        # The occurrence's end moved: the series keeps the new duration.
        duration = values["end"] - original_start
        values["end"] = master.start + duration
    return update_action(
        acting_user=acting_user,
        action=master,
        values=values,
        contacts=contacts,
        participants=participants,
        reminders=reminders,
        expected_version=LATEST,
    )


def _hand_over_deliveries(master: Action, new_series: Action, original_start: datetime) -> None:
    """The reminders already delivered for occurrences from ``original_start`` on now belong to
    the new series' reminders of the same time, so that they are not delivered again."""
    from .models import ReminderDelivery

    for reminder in new_series.reminders.all():
        delivered = ReminderDelivery.objects.filter(
            reminder__action=master,
            reminder__minutes_before=reminder.minutes_before,
            occurrence_start__gte=original_start,
        )
        delivered.filter(action=master).update(reminder=reminder, action=new_series)
        delivered.update(reminder=reminder)


def _same_rule(text: str, master: Action) -> bool:
    try:
        return recurrence.normalise(text or "", master.start) == master.rrule
    except recurrence.InvalidRule:
        return False


def _reminders_of(action: Action) -> list:
    manager = getattr(action, "reminders", None)
    return list(manager.all()) if manager is not None else []


def _move_exception(acting_user, exception: Action, series: Action, recurrence_id: datetime) -> None:
    changes = audit.diff(exception, {"series": series, "recurrence_id": recurrence_id})
    if changes:
        exception.series = series
        exception.recurrence_id = recurrence_id
        exception.version += 1
        exception.save(update_fields=["series", "recurrence_id", "version", "updated_at"])
        audit.record(acting_user, "update", exception, changes)


def _deletable(acting_user, action: Action) -> None:
    # The rule of ``attachments.delete_action``: its follower, its creator or a manager.
    if not (acting_user.is_manager or acting_user.pk in (action.followed_by_id, action.created_by_id)):
        raise PermissionDenied(_("Only the action's follower, its creator or a manager may delete it."))


@transaction.atomic
def delete_occurrence(*, acting_user, action: Action, original_start: datetime, scope: str) -> None:
    """Delete one occurrence of a recurring action, the occurrences from it on, or the series.

    Actions are deleted in Suivi (``attachments.delete_action``: its follower, its creator or a
    manager), so the same people may delete occurrences, and *the whole series* really deletes
    the master, its exceptions and their attachments (one audit row each).

    - ``this``: the original start joins the master's ``exdates``; an exception there is deleted
      and its start stays excluded.
    - ``following``: the master ends just before the occurrence (from its first occurrence: the
      whole series); exceptions from it on are deleted.
    - ``all``: the master and all its exceptions are deleted.

    A plain action is deleted whatever the scope; ``action`` may be an exception (its original
    start is the occurrence). A command: applied to the latest version.
    """
    from .attachments import delete_action

    _check_scope(scope)
    if action.series_id is None and not action.rrule:
        delete_action(acting_user=acting_user, action=action)
        return
    if action.series_id is not None:
        original_start = action.recurrence_id or original_start
        action = Action.objects.get(pk=action.series_id)
    original_start = _utc(original_start)
    master = lock_for_update(Action, action.pk, LATEST, "")
    _deletable(acting_user, master)
    _editable(acting_user, master)
    if scope == "all" and original_start == _utc(master.start):
        exception = None  # the series itself, even when its first occurrence was deleted
    else:
        exception = _occurrence_of(master, original_start)
    if scope == "following" and original_start == _utc(master.start):
        scope = "all"
    if scope == "this":
        if exception is not None:
            delete_action(acting_user=acting_user, action=exception)
        _write_series(acting_user, master, {"exdates": sorted({*master.exdates, _iso(original_start)})})
    elif scope == "following":
        for each in master.exceptions.filter(recurrence_id__gte=original_start):
            delete_action(acting_user=acting_user, action=each)
        _write_series(
            acting_user,
            master,
            {
                "rrule": recurrence.until_before(master.rrule, original_start),
                "exdates": [d for d in master.exdates if datetime.fromisoformat(d) < original_start],
            },
        )
    else:
        for each in master.exceptions.all():
            delete_action(acting_user=acting_user, action=each)
        delete_action(acting_user=acting_user, action=master)
