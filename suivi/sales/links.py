"""The document an action refers to (*Linked doc.*, S16 and S17): set on the action form, or by
a linked-action rule; a document lists its actions, generated and manual.

Linking needs nothing but the right to see both: the action (private ones: their creator,
follower and managers) and the document (``access_document``). It works whatever the other
settings (S17): the action form's layout, the CRM level, the documents screen.
"""

from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from suivi.activities.models import Action
from suivi.activities.queries import access_action, visible_actions
from suivi.core import audit
from suivi.core.company import company_settings
from suivi.core.errors import PermissionDenied
from suivi.lib.ids import parse_id
from suivi.lib.unicode import strip_unstorable

from .models import Document, DocumentAction, DocumentEvent, EventKind, EventStatus, LinkedActionRun, RuleOutcome
from .queries import DocumentFilters, access_document, document_list

SEARCH_LIMIT = 20


def linked_document(user, action: Action) -> Document | None:
    """The document ``action`` is linked to, if any (read through ``access_document``)."""
    link = DocumentAction.objects.filter(action=action).only("document_id").first()
    return access_document(user, link.document_id) if link else None


@transaction.atomic
def set_linked_document(*, acting_user, action: Action, document: Document | None) -> DocumentAction | None:
    """Link ``action`` to ``document`` (None: remove its link). The user must see both, and be
    allowed to change the action."""
    action = access_action(acting_user, action.pk)  # 404 for a private action of somebody else
    if (
        action.private
        and acting_user.pk not in (action.followed_by_id, action.created_by_id)
        and not acting_user.is_manager
    ):
        raise PermissionDenied(_("This action is private."))
    current = DocumentAction.objects.select_for_update().filter(action=action).first()
    if current is None and document is None:
        return None
    if document is not None:
        document = access_document(acting_user, document.pk)
    if current is not None and document is not None and current.document_id == document.pk:
        return current
    before = str(current.document) if current else ""
    if current is not None:
        current.delete()
    link = None
    if document is not None:
        link = DocumentAction.objects.create(document=document, action=action, created_by=acting_user)
    audit.record(acting_user, "link_document", action, {"linked_document": [before, str(document) if document else ""]})
    return link


def linked_actions(user, document: Document) -> list[Action]:
    """The actions linked to ``document`` that ``user`` sees (private ones only for their
    creator, follower and managers), newest first; each carries ``generated`` (the print or
    send that made it, or None). None of them with the CRM off."""
    if not company_settings().crm_enabled:
        return []
    links = {link.action_id: link for link in DocumentAction.objects.filter(document=document).select_related("event")}
    actions = list(
        visible_actions(user)
        .filter(pk__in=list(links))
        .select_related("action_type", "followed_by", "folder")
        .order_by("-when", "-id")
    )
    for action in actions:
        action.generated = links[action.pk].event  # type: ignore[attr-defined]  # for the page only
    return actions


@dataclass
class WhyNoAction:
    event: DocumentEvent
    reason: str


def why_no_action(document: Document) -> WhyNoAction | None:
    """Why the latest print or e-mail of ``document`` generated no action, or None when it did
    (or when there was none yet)."""
    event = document.events.select_related("layout").order_by("-created_at", "-id").first()
    if event is None:
        return None
    if event.kind == EventKind.EMAIL and event.status != EventStatus.DONE:
        reason = (
            _("the e-mail was not sent; an action is generated once it is.")
            if event.status == EventStatus.FAILED
            else _("the e-mail is still being sent.")
        )
        return WhyNoAction(event, reason)
    run = LinkedActionRun.objects.filter(event=event).first()
    if run is None or run.outcome == RuleOutcome.GENERATED:
        return None
    kind = _("printing") if event.kind == EventKind.PRINT else _("sending by e-mail")
    reasons = {
        RuleOutcome.NO_RULE: _("the layout “%(layout)s” has no linked-action rule for %(kind)s."),
        RuleOutcome.RULE_OFF: _("the linked-action rule of the layout “%(layout)s” for %(kind)s is off."),
        RuleOutcome.CRM_OFF: _("the CRM option was off."),
        RuleOutcome.FAILED: _("the rule of the layout “%(layout)s” could not be applied: %(detail)s"),
    }
    reason = reasons[RuleOutcome(run.outcome)] % {"layout": event.layout.name, "kind": kind, "detail": run.detail}
    return WhyNoAction(event, reason)


@dataclass
class DocumentSearch:
    """The linked-doc search of the action form: number (its beginning), party (a word of its
    name), journal, date."""

    number: str = ""
    party: str = ""
    journal: int | None = None
    day: date | None = None

    @classmethod
    def from_params(cls, params) -> "DocumentSearch":
        try:
            day: date | None = date.fromisoformat((params.get("date") or "")[:10])
        except ValueError:
            day = None
        if day is not None and day.year < 1900:
            day = None
        return cls(
            number=strip_unstorable(params.get("number") or "")[:60].strip(),
            party=strip_unstorable(params.get("party_name") or "")[:60].strip(),
            journal=parse_id(params.get("journal")),
            day=day,
        )

    @property
    def empty(self) -> bool:
        return not (self.number or self.party or self.journal or self.day)


def search_documents(user, search: DocumentSearch) -> list[Document]:
    """Documents ``user`` sees that match ``search``, newest first (at most 20)."""
    qs = document_list(user, DocumentFilters(journal=search.journal, date_from=search.day, date_to=search.day))
    if search.number:
        qs = qs.filter(number__startswith=search.number)
    if search.party:
        qs = qs.filter(Q(party__name__icontains=search.party) | Q(party__code__istartswith=search.party))
    return list(qs[:SEARCH_LIMIT])
