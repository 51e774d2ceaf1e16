"""Linked-action rules (S12) and the actions they generate (S13).

Each layout has one rule for printing and one for e-mailing (``LinkedActionRule``). Every print
or send event through the layout applies its rule once: ``apply_rule`` locks the event and
writes its ``LinkedActionRun`` (the outcome, one row per event) with the action it generated, so
a double click, a retried request, a re-sent e-mail or two concurrent requests carrying the same
idempotency key give one action at most. A send applies the rule only once it is delivered: a
failed send generates nothing (until it is sent again successfully).

The rule never stops the print or the send: when it cannot be applied (its follower is no longer
allowed by the *Followed by* expression, its template no longer renders…), the run says why and
the document page shows it on its *why was no action generated?* line.
"""

import re
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from suivi.accounts.queries import followed_by_choices
from suivi.activities import attachments
from suivi.activities import services as action_services
from suivi.activities.models import Action, ActionStatus, Folder
from suivi.core import audit
from suivi.core.company import company_settings
from suivi.core.errors import ConflictError, InvalidInput, PermissionDenied, SuiviError, lock_for_update

from . import merge_fields
from .layouts import TemplateFailed, check_template, render_template
from .models import (
    DocumentAction,
    DocumentEvent,
    EventKind,
    EventStatus,
    FolderMode,
    FollowerMode,
    GeneratedStatus,
    Layout,
    LinkedActionRule,
    LinkedActionRun,
    RuleOutcome,
)
from .pdf import pdf_filename
from .queries import may_configure

Errors = dict[str, str]
_BREAKS = re.compile(r"[ \t\r\n\f\v\x85\u2028\u2029]+")


def rule_of(layout: Layout, kind: str) -> LinkedActionRule | None:
    return LinkedActionRule.objects.filter(layout=layout, event_kind=kind).first()


def rules_of(layout: Layout) -> dict[str, LinkedActionRule]:
    """The layout's rules by event kind; a kind without a stored rule gets an unsaved one with
    the defaults (off), which is what the settings screen shows."""
    stored = {r.event_kind: r for r in LinkedActionRule.objects.filter(layout=layout)}
    return {kind: stored.get(kind) or LinkedActionRule(layout=layout, event_kind=kind) for kind in EventKind.values}


# --- settings ------------------------------------------------------------------------------------


def _template_errors(rule: LinkedActionRule, name: str, language: str) -> str | None:
    source = getattr(rule, name)
    problems = check_template(source, html=False, language=language)
    return " ".join(str(p) for p in problems) or None


def _check_rule(rule: LinkedActionRule, previous_follower_id: int | None) -> Errors:
    errors: Errors = {}
    if rule.event_kind not in EventKind.values:
        errors["event_kind"] = _("Choose print or e-mail.")
    if rule.enabled and rule.action_type_id is None:
        errors["action_type"] = _("Choose the type of the generated action.")
    if rule.action_type_id and not rule.action_type.active and rule.enabled:
        errors["action_type"] = _("This action type is no longer active: choose another.")
    if not rule.subject_template.strip():
        errors["subject_template"] = _("The generated action needs a subject.")
    elif problem := _template_errors(rule, "subject_template", rule.layout.language):
        errors["subject_template"] = problem
    if rule.folder_mode not in FolderMode.values:
        errors["folder_mode"] = _("Choose where the action is filed.")
    elif rule.folder_mode == FolderMode.FIXED:
        if rule.folder_id is None:
            errors["folder"] = _("Choose the folder.")
        elif rule.folder.party_id is not None:
            errors["folder"] = _(
                "“%(folder)s” is a folder of %(party)s; documents of every party use this layout: choose a "
                "general folder, or “A folder of the party”."
            ) % {"folder": rule.folder.name, "party": rule.folder.party}
    elif rule.folder_mode == FolderMode.PARTY:
        if not rule.folder_name_template.strip():
            errors["folder_name_template"] = _("Give the template of the folder's name.")
        elif problem := _template_errors(rule, "folder_name_template", rule.layout.language):
            errors["folder_name_template"] = problem
    if rule.follower_mode not in FollowerMode.values:
        errors["follower_mode"] = _("Choose who follows the action.")
    elif rule.follower_mode == FollowerMode.FIXED:
        follower = rule.follower if rule.follower_id else None
        if follower is None:
            errors["follower"] = _("Choose the user who follows the generated actions.")
        elif follower.pk != previous_follower_id or rule.pk is None:
            if not follower.is_active:
                errors["follower"] = _("%(user)s is no longer an active user; choose someone else.") % {
                    "user": follower
                }
            elif not followed_by_choices(company_settings()).filter(pk=follower.pk).exists():
                errors["follower"] = _(
                    "%(user)s is not among the users who may follow actions (company setting “Followed by”)."
                ) % {"user": follower}
    if rule.status not in GeneratedStatus.values:
        errors["status"] = _("Choose done or to do.")
    if rule.due_in_days is None or not 0 <= rule.due_in_days <= 3650:
        errors["due_in_days"] = _("A number of days from 0 to 3650.")
    return errors


@transaction.atomic
def save_rule(
    *, acting_user, layout: Layout, kind: str, values: dict[str, Any], expected_version: int | str | None = None
) -> LinkedActionRule:
    """Create or change the rule of ``layout`` for ``kind`` (print or e-mail). Managers only; a
    stored rule is changed from the version the user read (409 otherwise)."""
    if not may_configure(acting_user):
        raise PermissionDenied(_("Only managers may change the linked-action rules."))
    if kind not in EventKind.values:
        raise InvalidInput({"event_kind": _("Choose print or e-mail.")})
    existing = rule_of(layout, kind)
    if existing is not None:
        rule = lock_for_update(
            LinkedActionRule,
            existing.pk,
            expected_version,
            _("These rules were changed by someone else meanwhile. Nothing was saved: reload the page."),
        )
    else:
        rule = LinkedActionRule(layout=layout, event_kind=kind)
    previous_follower_id = rule.follower_id if rule.pk else None
    values = {k: v for k, v in values.items() if k in LinkedActionRule.EDITABLE}
    changes = audit.diff(rule, values) if rule.pk else {}
    for name, value in values.items():
        setattr(rule, name, value)
    errors = _check_rule(rule, previous_follower_id)
    if errors:
        raise InvalidInput(errors)
    if rule.pk is None:
        try:
            with transaction.atomic():
                rule.save()
        except IntegrityError as e:  # another manager created it at the same moment
            raise ConflictError(
                _("These rules were changed by someone else meanwhile. Nothing was saved: reload the page.")
            ) from e
        audit.record(acting_user, "create", rule)
    elif changes:
        rule.version += 1
        rule.save()
        audit.record(acting_user, "update", rule, changes)
    return rule


# --- generation ----------------------------------------------------------------------------------


def _render(source: str, context: dict[str, Any], language: str, limit: int) -> str:
    text = render_template(source, context, html=False, language=language)
    # One line (line breaks become spaces); no-break spaces of amounts are kept.
    return _BREAKS.sub(" ", text).strip()[:limit]


def _follower(rule: LinkedActionRule, event: DocumentEvent):
    if rule.follower_mode == FollowerMode.FIXED and rule.follower_id:
        return rule.follower
    if rule.follower_mode == FollowerMode.SALES_REP and event.document.party.sales_rep_id:
        return event.document.party.sales_rep
    return event.user  # the user printing or sending (also when the party has no sales rep)


def _folder(rule: LinkedActionRule, event: DocumentEvent, context, follower) -> Folder | None:
    document = event.document
    if rule.folder_mode == FolderMode.FIXED:
        return rule.folder if rule.folder_id and not rule.folder.archived else None
    if rule.folder_mode == FolderMode.DOCUMENT:
        return document.folder if document.folder_id else None
    if rule.folder_mode == FolderMode.PARTY:
        name = _render(rule.folder_name_template, context, rule.layout.language, 150) or str(document)
        found = Folder.objects.filter(party=document.party, archived=False, name__iexact=name).first()
        if found is not None:
            return found
        return action_services.create_folder(
            acting_user=event.user, values={"name": name, "party": document.party, "followed_by": follower}
        )
    return None


def _description(event: DocumentEvent) -> str:
    document = event.document
    if event.kind == EventKind.EMAIL:
        return _("%(document)s e-mailed to %(to)s with the layout “%(layout)s”.") % {
            "document": document,
            "to": event.recipient,
            "layout": event.layout.name,
        }
    return _("%(document)s printed with the layout “%(layout)s”.") % {
        "document": document,
        "layout": event.layout.name,
    }


def _generate(rule: LinkedActionRule, event: DocumentEvent, pdf: bytes | None, stored: list[str]) -> Action:
    document = event.document
    context = merge_fields.context(document, rule.layout.language)
    subject = _render(rule.subject_template, context, rule.layout.language, 200) or str(document)
    follower = _follower(rule, event)
    folder = _folder(rule, event, context, follower)
    when = event.done_at or timezone.now()
    values: dict[str, Any] = {
        "subject": subject,
        "description": _description(event),
        "action_type": rule.action_type,
        "party": document.party,
        "folder": folder,
        "followed_by": follower,
        "status": ActionStatus.TODO if rule.status == GeneratedStatus.TODO else ActionStatus.DONE,
    }
    if rule.status == GeneratedStatus.TODO:
        values["due_date"] = timezone.localdate(when) + timedelta(days=rule.due_in_days)
    else:
        values["start"] = when
    contacts = []
    if document.contact_id and document.contact.affiliations.filter(party_id=document.party_id).exists():
        contacts = [document.contact]
    action = action_services.create_action(acting_user=event.user, values=values, contacts=contacts)
    DocumentAction.objects.create(document=document, action=action, event=event, created_by=event.user)
    if rule.attach_pdf:
        if pdf is None:
            from .services import document_pdf

            pdf = document_pdf(document, event.layout)
        attachment = attachments.add_attachment(
            acting_user=event.user, action=action, name=pdf_filename(document), content=pdf
        )
        stored.append(attachment.file)
    return action


def _outcome(event: DocumentEvent) -> tuple[str, LinkedActionRule | None]:
    if not company_settings().crm_enabled:
        return RuleOutcome.CRM_OFF, None
    rule = rule_of(event.layout, event.kind)
    if rule is None:
        return RuleOutcome.NO_RULE, None
    if not rule.enabled:
        return RuleOutcome.RULE_OFF, rule
    return RuleOutcome.GENERATED, rule


@transaction.atomic
def apply_rule(event: DocumentEvent, *, pdf: bytes | None = None) -> LinkedActionRun | None:
    """Apply the rule of the event's layout to a print or a delivered e-mail, once per event.

    Returns the run (what happened), or None for an event that is not done (a send not yet
    delivered or failed: nothing is generated for a send that did not happen). ``pdf``: the
    bytes just printed, to attach without rendering them again."""
    event = (
        DocumentEvent.objects.select_for_update(of=("self",))
        .select_related("layout", "user", "document__journal", "document__party", "document__contact")
        .get(pk=event.pk)
    )
    if event.status != EventStatus.DONE:
        return None
    run = LinkedActionRun.objects.filter(event=event).first()
    if run is not None:
        return run
    outcome, rule = _outcome(event)
    detail = ""
    stored: list[str] = []
    if outcome == RuleOutcome.GENERATED and rule is not None:
        try:
            with transaction.atomic():
                _generate(rule, event, pdf, stored)
        except InvalidInput as e:
            outcome, detail = RuleOutcome.FAILED, " ".join(e.errors.values())
        except SuiviError as e:
            outcome, detail = RuleOutcome.FAILED, e.message
        except TemplateFailed as e:
            outcome, detail = RuleOutcome.FAILED, str(e.problem)
        except OSError as e:  # the attachment's storage
            outcome, detail = RuleOutcome.FAILED, _("the PDF could not be stored (%(detail)s).") % {"detail": e}
        if outcome == RuleOutcome.FAILED:
            attachments.remove_files(stored)  # stored before the step that failed: rolled back with it
    return LinkedActionRun.objects.create(event=event, outcome=outcome, detail=detail[:1000])


# --- demo ----------------------------------------------------------------------------------------

DEMO_RULES = [
    # journal, event, type (English name), subject, status, due in days, follower, attach the PDF
    (
        "DV",
        EventKind.EMAIL,
        "Call",
        "Rappeler\u00a0: devis {{ document.number }} · {{ party.name }}",
        "todo",
        8,
        "sales_rep",
        False,
    ),
    (
        "DV",
        EventKind.PRINT,
        "Task",
        "Devis {{ document.number }} imprimé · {{ party.name }}",
        "done",
        0,
        "acting",
        True,
    ),
    (
        "VF",
        EventKind.EMAIL,
        "E-mail",
        "Facture {{ document.number }} envoyée ({{ document.total_incl|money }})",
        "done",
        0,
        "acting",
        True,
    ),
]


def load_demo_rules() -> None:
    """The demo's rules (kept when they exist): an e-mailed quote asks its party's sales
    representative to call back in 8 days, a printed quote and an e-mailed invoice are recorded
    with their PDF. Needs the demo journals (``demo.load_sales``)."""
    from suivi.activities.models import ActionType

    for code, kind, type_name, subject, status, days, follower, attach in DEMO_RULES:
        layout = Layout.objects.filter(journal__code=code, is_default=True).first()
        action_type = ActionType.objects.filter(name_en=type_name).first()
        if layout is None or action_type is None or rule_of(layout, kind) is not None:
            continue
        LinkedActionRule.objects.create(
            layout=layout,
            event_kind=kind,
            enabled=True,
            action_type=action_type,
            subject_template=subject,
            status=status,
            due_in_days=days,
            follower_mode=follower,
            attach_pdf=attach,
        )
