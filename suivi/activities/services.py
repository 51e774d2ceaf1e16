"""Writes of actions and folders. Every write is atomic, checked, and leaves an audit row."""

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from suivi.accounts.queries import followed_by_choices
from suivi.core import audit
from suivi.core.company import company_settings
from suivi.core.errors import LATEST, PermissionDenied, SuiviError, lock_for_update
from suivi.core.errors import InvalidInput as InvalidAction
from suivi.core.gates import opportunities_refusal, refusal
from suivi.core.models import CrmLevel
from suivi.lib.colours import colour_message, is_colour
from suivi.lib.html import sanitise

from . import recurrence
from .keywords import refresh_keywords
from .models import (
    ACTION_TRANSITIONS,
    OPPORTUNITY_TRANSITIONS,
    Action,
    ActionStatus,
    Folder,
    OpportunityStatus,
    Stage,
)

Errors = dict[str, str]


# Billing of actions is an M2 feature (S2b): at M1 its fields are kept but cannot be set.
BILLING_FIELDS = ("billable", "bill_quantity", "unit_price", "invoice_text")


def _refuse_closed(values: dict[str, Any], instance, model, fields, reason: str | None) -> None:
    """Refuse values that would change ``fields`` of a feature a company option closes
    (``reason`` says why); their stored values are kept as they are."""
    if reason is None:
        return
    reference = instance if instance is not None else model()
    touched = sorted(name for name in fields if name in values and values[name] != getattr(reference, name))
    if touched:
        raise InvalidAction(dict.fromkeys(touched, reason))


def _billing_refusal() -> str | None:
    return refusal(company_settings(), CrmLevel.FULL)


def _to_the_minute(action: Action) -> None:
    """Start and end are kept to the minute, as the agenda and the form's picker show them, so
    that a record saved unchanged stays unchanged."""
    for name in ("start", "end"):
        value = getattr(action, name)
        if value is not None and (value.second or value.microsecond):
            setattr(action, name, value.replace(second=0, microsecond=0))


def _when(action: Action) -> datetime:
    if action.start:
        return action.start
    if action.due_date:
        return timezone.make_aware(datetime.combine(action.due_date, datetime.min.time()))
    return action.created_at or timezone.now()


def _check_action(action: Action, contacts, *, previous_follower_id: int | None) -> Errors:
    errors: Errors = {}
    if not action.subject.strip():
        errors["subject"] = _("An action needs a subject.")
    elif len(action.subject) > 200:
        errors["subject"] = _("At most %(limit)s characters (you typed %(count)s).") % {
            "limit": 200,
            "count": len(action.subject),
        }
    _check_dates(action, errors)
    foreign = [
        c for c in contacts if action.party_id is None or not c.affiliations.filter(party_id=action.party_id).exists()
    ]
    if foreign:
        errors["contacts"] = _("%(names)s does not work at %(party)s.") % {
            "names": ", ".join(str(c) for c in foreign),
            "party": action.party.name if action.party is not None else _("the chosen party (none)"),
        }
    folder = action.folder if action.folder_id else None
    if folder is not None and folder.party_id and folder.party_id != action.party_id:
        errors["folder"] = _("The folder “%(folder)s” belongs to %(party)s, not to this action's party.") % {
            "folder": folder.name,
            "party": str(folder.party),  # Party.__str__ is its name
        }
    follower = action.followed_by
    if follower is None:
        errors["followed_by"] = _("Choose who follows this action.")
    elif follower.pk != previous_follower_id:
        if not follower.is_active:
            errors["followed_by"] = _("%(user)s is no longer an active user; choose someone else.") % {"user": follower}
        elif not followed_by_choices(company_settings()).filter(pk=follower.pk).exists():
            errors["followed_by"] = _(
                "%(user)s is not among the users who may follow actions (company setting “Followed by”)."
            ) % {"user": follower}
    for name in ("bill_quantity", "unit_price"):
        value = getattr(action, name)
        if value is not None and value < 0:
            errors[name] = _("This amount cannot be negative.")
    if "end" not in errors and "start" not in errors:
        _check_recurrence(action, errors)
    return errors


FIRST_YEAR, LAST_YEAR = 1900, 2999  # the agenda's
LONGEST_ACTION = timedelta(days=366)


def _check_dates(action: Action, errors: Errors) -> None:
    """Dates from the years 1900 to 2999, and an action of at most 366 days: a typo in a year
    (2126 for 2026) would otherwise fill the agenda and the planning for a century."""
    labels = {"start": _("start"), "end": _("end"), "due_date": _("due date")}
    for name, label in labels.items():
        value = getattr(action, name)
        if value is None:
            continue
        try:
            year = timezone.localtime(value).year if isinstance(value, datetime) else value.year
        except (OverflowError, ValueError):
            year = value.year
        if not FIRST_YEAR <= year <= LAST_YEAR:
            errors[name] = _("The %(what)s must be between the years 1900 and 2999 (you sent %(year)s).") % {
                "what": label,
                "year": year,
            }
    if "start" in errors or "end" in errors or not (action.start and action.end):
        return
    if action.end < action.start:
        errors["end"] = _("The end (%(end)s) is before the start (%(start)s).") % {
            "end": timezone.localtime(action.end).strftime("%d/%m/%Y %H:%M"),
            "start": timezone.localtime(action.start).strftime("%d/%m/%Y %H:%M"),
        }
    elif action.end - action.start > LONGEST_ACTION:
        errors["end"] = _(
            "Check the year of the end: an action lasts at most 366 days, and this one would run from "
            "%(start)s to %(end)s."
        ) % {
            "start": timezone.localtime(action.start).strftime("%d/%m/%Y %H:%M"),
            "end": timezone.localtime(action.end).strftime("%d/%m/%Y %H:%M"),
        }


def _check_recurrence(action: Action, errors: Errors) -> None:
    """Normalise the recurrence rule and keep the agenda's derived columns (``series_end``,
    ``long_event``) in step; a rule Suivi refuses is an error of the ``rrule`` field."""
    try:
        action.rrule = recurrence.normalise(action.rrule, action.start)
    except recurrence.InvalidRule as e:
        errors["rrule"] = str(e)
        return
    if action.rrule and action.series_id:
        errors["rrule"] = _("An occurrence changed on its own cannot repeat; change the whole series instead.")
        return
    duration = recurrence.duration_of(action)
    action.long_event = duration > recurrence.LOOK_BACK
    action.series_end = (
        recurrence.series_end(action.rrule, action.start, duration) if action.rrule and action.start else None
    )


@transaction.atomic
def create_action(*, acting_user, values: dict[str, Any], contacts=(), participants=None, reminders=None) -> Action:
    """Record an action. ``values`` are model fields; contacts must work at the action's party.
    ``participants``: other users taking part (M2). ``reminders``: minutes before the start
    (M2); None gives the action type's default reminder, if it has one."""
    _refuse_closed(values, None, Action, BILLING_FIELDS, _billing_refusal())
    action = Action(created_by=acting_user, **values)
    action.description = sanitise(action.description)
    if action.billable is None:
        action.billable = action.action_type.billable_by_default
    _to_the_minute(action)
    errors = _check_action(action, list(contacts), previous_follower_id=None)
    if errors:
        raise InvalidAction(errors)
    action.when = _when(action)
    action.save()
    action.contacts.set(contacts)
    if participants:
        action.participants.set(participants)
    if reminders is None:
        reminders = [action.action_type.reminder_minutes] if action.action_type.reminder_minutes is not None else []
    _set_reminders(action, reminders)
    refresh_keywords([action])
    audit.record(acting_user, "create", action)
    return action


def _set_reminders(action: Action, minutes: list[int]) -> bool:
    """Give ``action`` exactly the reminders ``minutes`` before its start; whether that changed."""
    from .models import Reminder

    try:
        wanted = {int(m) for m in minutes}
    except (TypeError, ValueError, OverflowError):
        wanted = {-1}
    if any(m < 0 or m > MAX_REMINDER_MINUTES for m in wanted):
        raise InvalidAction({"reminders": _("A reminder is between 0 minutes and 4 weeks before the start.")})
    have = set(action.reminders.values_list("minutes_before", flat=True))
    if have == wanted:
        return False
    action.reminders.exclude(minutes_before__in=wanted).delete()
    Reminder.objects.bulk_create([Reminder(action=action, minutes_before=m) for m in sorted(wanted - have)])
    return True


MAX_REMINDER_MINUTES = 4 * 7 * 24 * 60


def _editable(acting_user, action: Action) -> None:
    if (
        action.private
        and acting_user.pk not in (action.followed_by_id, action.created_by_id)
        and not acting_user.is_manager
    ):
        raise PermissionDenied(_("This action is private."))


@transaction.atomic
def update_action(
    *,
    acting_user,
    action: Action,
    values: dict[str, Any],
    contacts=None,
    expected_version: int | str | None,
    participants=None,
    reminders=None,
) -> Action:
    """Change an action. ``expected_version`` is the version the user edited (see lock_for_update).
    ``participants`` / ``reminders`` (minutes before): None leaves them as they are."""
    action = lock_for_update(
        Action,
        action.pk,
        expected_version,
        _(
            "This action was changed by someone else while you were editing it. Your changes were "
            "not saved: reload to see theirs."
        ),
    )
    _editable(acting_user, action)
    _refuse_closed(values, action, Action, BILLING_FIELDS, _billing_refusal())
    previous_follower_id = action.followed_by_id
    if "description" in values:
        values["description"] = sanitise(values["description"])
    values = dict(values)
    for name in ("start", "end"):
        if values.get(name) is not None:
            values[name] = values[name].replace(second=0, microsecond=0)
    changes = audit.diff(action, values)
    for name, value in values.items():
        setattr(action, name, value)
    new_contacts = list(contacts) if contacts is not None else list(action.contacts.all())
    errors = _check_action(action, new_contacts, previous_follower_id=previous_follower_id)
    if errors:
        raise InvalidAction(errors)
    if contacts is not None:
        before = sorted(str(c) for c in action.contacts.all())
        after = sorted(str(c) for c in new_contacts)
        if before != after:
            changes["contacts"] = [before, after]
            action.contacts.set(new_contacts)
    if participants is not None:
        before = sorted(str(u) for u in action.participants.all())
        after = sorted(str(u) for u in participants)
        if before != after:
            changes["participants"] = [before, after]
            action.participants.set(list(participants))
    if reminders is not None:
        minutes = sorted(action.reminders.values_list("minutes_before", flat=True))
        if _set_reminders(action, reminders):
            changes["reminders"] = [minutes, sorted({int(m) for m in reminders})]
    if changes:
        action.when = _when(action)
        action.version += 1
        action.save()
        if "subject" in changes:
            refresh_keywords([action])
        audit.record(acting_user, "update", action, changes)
    return action


@transaction.atomic
def set_action_status(*, acting_user, action: Action, status: str) -> Action:
    """Move an action along its workflow (to do → done / cancelled → to do): a command, applied
    to the latest version."""
    action = lock_for_update(Action, action.pk, LATEST, "")
    _editable(acting_user, action)
    if status == action.status:
        return action
    if status not in ACTION_TRANSITIONS.get(action.status, set()):
        raise SuiviError(
            _("An action that is %(from)s cannot become %(to)s.")
            % {"from": ActionStatus(action.status).label, "to": ActionStatus(status).label}
        )
    audit.record(acting_user, "status", action, {"status": [action.status, status]})
    action.status = status
    action.version += 1
    action.save(update_fields=["status", "version", "updated_at"])
    return action


@transaction.atomic
def bulk_reassign(*, acting_user, actions, followed_by) -> int:
    """Give ``actions`` to ``followed_by``; returns how many changed."""
    if not followed_by.is_active or not followed_by_choices(company_settings()).filter(pk=followed_by.pk).exists():
        raise SuiviError(_("%(user)s may not follow actions.") % {"user": followed_by})
    count = 0
    for action in actions:
        if action.followed_by_id != followed_by.pk:
            update_action(
                acting_user=acting_user, action=action, values={"followed_by": followed_by}, expected_version=LATEST
            )
            count += 1
    return count


@transaction.atomic
def bulk_close(*, acting_user, actions) -> int:
    count = 0
    for action in actions:
        if action.status == ActionStatus.TODO:
            set_action_status(acting_user=acting_user, action=action, status=ActionStatus.DONE)
            count += 1
    return count


# --- folders -----------------------------------------------------------------------------------

OPPORTUNITY_FIELDS = (
    "is_opportunity",
    "opportunity_type",
    "budget",
    "currency",
    "probability",
    "stage",
    "expected_close",
    "source",
    "lost_reason",
    "status",
)


def may_change_folder(user, folder: Folder) -> bool:
    """A folder is changed (edited, moved on the board, deleted) by its follower, its creator or
    a manager; everybody may file actions in it."""
    if not (user and user.is_authenticated):
        return False
    return user.is_manager or user.pk in (folder.followed_by_id, folder.created_by_id)


def _changeable(acting_user, folder: Folder) -> None:
    if not may_change_folder(acting_user, folder):
        raise PermissionDenied(
            _("Only the follower of “%(folder)s”, its creator or a manager may change it.") % {"folder": folder.name}
        )


def _check_folder(folder: Folder, *, previous_follower_id: int | None) -> Errors:
    errors: Errors = {}
    if not folder.name.strip():
        errors["name"] = _("A folder needs a name.")
    else:
        namesakes = Folder.objects.filter(
            party_id=folder.party_id,  # type: ignore[misc]  # None: general folders (IS NULL)
            archived=False,
            name__iexact=folder.name.strip(),
        )
        if folder.pk:
            namesakes = namesakes.exclude(pk=folder.pk)
        if namesakes.exists():
            errors["name"] = (
                _("%(party)s already has a folder “%(name)s”: choose it, or give this one another name.")
                % {"party": str(folder.party), "name": folder.name.strip()}  # Party.__str__ is its name
                if folder.party_id
                else _("A general folder “%(name)s” already exists: choose it, or give this one another name.")
                % {"name": folder.name.strip()}
            )
    if folder.probability is not None and not 0 <= folder.probability <= 100:
        errors["probability"] = _("The probability is a percentage between 0 and 100.")
    if folder.budget is not None and folder.budget < 0:
        errors["budget"] = _("The budget cannot be negative.")
    follower = folder.followed_by
    if follower is not None and follower.pk != previous_follower_id:
        if not follower.is_active:
            errors["followed_by"] = _("%(user)s is no longer an active user; choose someone else.") % {"user": follower}
        elif not followed_by_choices(company_settings()).filter(pk=follower.pk).exists():
            errors["followed_by"] = _(
                "%(user)s is not among the users who may follow actions (company setting “Followed by”)."
            ) % {"user": follower}
    return errors


@transaction.atomic
def create_folder(*, acting_user, values: dict[str, Any]) -> Folder:
    """Create a general folder (no party) or a party folder. Its follower must be one the company's
    *Followed by* expression (S9) offers; opportunity fields only with opportunity management on."""
    _refuse_closed(values, None, Folder, OPPORTUNITY_FIELDS, opportunities_refusal(company_settings()))
    folder = Folder(**values)
    if getattr(acting_user, "pk", None):
        folder.created_by = acting_user
    if folder.probability is None and folder.stage is not None:
        folder.probability = folder.stage.default_probability
    errors = _check_folder(folder, previous_follower_id=None)
    if errors:
        raise InvalidAction(errors)
    folder.save()
    audit.record(acting_user, "create", folder)
    return folder


def _lock_folder(folder: Folder, expected_version: int | str | None) -> Folder:
    return lock_for_update(
        Folder, folder.pk, expected_version, _("This folder was changed by someone else meanwhile. Reload it.")
    )


@transaction.atomic
def update_folder(*, acting_user, folder: Folder, values: dict[str, Any], expected_version: int | str | None) -> Folder:
    """Change a folder (its follower, creator or a manager). ``expected_version``: see lock_for_update."""
    folder = _lock_folder(folder, expected_version)
    _changeable(acting_user, folder)
    _refuse_closed(values, folder, Folder, OPPORTUNITY_FIELDS, opportunities_refusal(company_settings()))
    if "party" in values and values["party"] != folder.party and folder.actions.exclude(party=values["party"]).exists():
        raise InvalidAction({"party": _("This folder holds actions of another party; move them first.")})
    previous_follower_id = folder.followed_by_id
    changes = audit.diff(folder, values)
    for name, value in values.items():
        setattr(folder, name, value)
    errors = _check_folder(folder, previous_follower_id=previous_follower_id)
    if errors:
        raise InvalidAction(errors)
    if changes:
        folder.version += 1
        folder.save()
        audit.record(acting_user, "update", folder, changes)
    return folder


@transaction.atomic
def delete_folder(
    *,
    acting_user,
    folder: Folder,
    move_to: Folder | None = None,
    detach: bool = False,
    expected_version: int | str | None,
) -> int:
    """Delete a folder (its follower, creator or a manager). Its actions are moved to ``move_to``
    or detached (``detach=True``); with neither, a folder that holds actions is refused: nothing
    is lost silently. A folder holding private actions the user cannot see is left to a manager,
    so that nobody moves what they cannot see."""
    from .queries import visible_actions

    folder = _lock_folder(folder, expected_version)
    _changeable(acting_user, folder)
    actions = list(folder.actions.all())
    visible = set(visible_actions(acting_user).filter(folder=folder).values_list("pk", flat=True))
    if any(a.pk not in visible for a in actions):
        raise PermissionDenied(
            _("“%(folder)s” holds private actions of other users: ask a manager to delete it.") % {"folder": folder}
        )
    if actions and move_to is None and not detach:
        raise SuiviError(
            _("The folder “%(folder)s” holds %(count)s actions: choose where to move them, or detach them.")
            % {"folder": folder, "count": len(actions)}
        )
    if move_to is not None:
        if move_to.pk == folder.pk:
            raise SuiviError(_("Choose another folder to move the actions to."))
        if move_to.party_id and any(a.party_id != move_to.party_id for a in actions):
            raise SuiviError(
                _("“%(folder)s” belongs to %(party)s; some actions are of another party.")
                % {"folder": move_to, "party": move_to.party}
            )
    for action in actions:
        action.folder = move_to
        action.version += 1
        action.save(update_fields=["folder", "version", "updated_at"])
        audit.record(acting_user, "move", action, {"folder": [folder.name, move_to.name if move_to else None]})
    audit.record(acting_user, "delete", folder, {"actions": [len(actions), 0]})
    folder.delete()
    return len(actions)


@transaction.atomic
def move_to_stage(*, acting_user, folder: Folder, stage: Stage) -> Folder:
    """Move an opportunity to ``stage`` (pipeline board); the probability follows the stage.
    A command on the latest version: the board shows no form that could be stale."""
    return update_folder(
        acting_user=acting_user,
        folder=folder,
        values={"stage": stage, "probability": stage.default_probability},
        expected_version=LATEST,
    )


@transaction.atomic
def set_opportunity_status(
    *, acting_user, folder: Folder, status: str, lost_reason: str = "", expected_version: int | str | None = LATEST
) -> Folder:
    """Win, lose, abandon or reopen an opportunity, along its workflow."""
    folder = _lock_folder(folder, expected_version)
    _changeable(acting_user, folder)
    if status not in OpportunityStatus.values:
        raise SuiviError(_("Choose a status of the opportunity."))
    if status not in OPPORTUNITY_TRANSITIONS.get(folder.status, set()) and status != folder.status:
        raise SuiviError(
            _("An opportunity that is %(from)s cannot become %(to)s.")
            % {"from": OpportunityStatus(folder.status).label, "to": OpportunityStatus(status).label}
        )
    values: dict[str, Any] = {"status": status}
    if status == OpportunityStatus.LOST:
        values["lost_reason"] = lost_reason
    if status == OpportunityStatus.WON:
        values["probability"] = 100
    return update_folder(acting_user=acting_user, folder=folder, values=values, expected_version=LATEST)


# --- configuration: action types and pipeline stages (administrators) ---------------------------


@transaction.atomic
def save_configuration_row(
    *, acting_user, model, instance, values: dict[str, Any], expected_version: int | str | None = None
):
    """Create (``instance`` None) or change one action type or stage, from ``expected_version``
    (see lock_for_update). Administrators only."""
    if not acting_user.is_administrator:
        raise PermissionDenied(_("Only administrators may change action types and stages."))
    if instance is not None:
        obj = lock_for_update(
            model,
            instance.pk,
            expected_version,
            _("“%(row)s” was changed by someone else meanwhile; reload the page. Nothing was saved.")
            % {"row": instance},
        )
    else:
        obj = model()
    changes = audit.diff(obj, values) if instance else {}
    for name, value in values.items():
        setattr(obj, name, value)
    if hasattr(obj, "colour") and not is_colour(obj.colour):  # it goes into the pages' CSS
        raise InvalidAction({"colour": colour_message()})
    obj.full_clean()
    if instance is None or changes:
        if instance is not None:
            obj.version += 1
        obj.save()
        audit.record(acting_user, "update" if instance else "create", obj, changes)
    return obj


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

SERIES_CONFLICT = _(
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
        exception = lock_for_update(Action, action.pk, expected_version, SERIES_CONFLICT)
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
        master = lock_for_update(Action, exception.series_id, LATEST, SERIES_CONFLICT)
        original_start = _utc(exception.recurrence_id)
        audit.record(acting_user, "delete", exception)
        exception.delete()
        _write_series(
            acting_user,
            master,
            {"exdates": [d for d in master.exdates if _iso(datetime.fromisoformat(d)) != _iso(original_start)]},
        )
    else:
        master = lock_for_update(Action, action.pk, expected_version, SERIES_CONFLICT)
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
