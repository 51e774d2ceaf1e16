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
