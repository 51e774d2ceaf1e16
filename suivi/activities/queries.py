"""Permission-checked reads of actions and folders, and the selectors of lists, board and
timeline.

A *private* action is seen only by its creator, its follower and managers; everything else is
shared by the whole company.
"""

import base64
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Case, Count, DecimalField, Exists, F, IntegerField, OuterRef, Q, QuerySet, Sum, Value, When
from django.http import Http404
from django.utils import timezone, translation

from suivi.core.aliases import rewrite
from suivi.core.expressions import ExpressionSchema, filter_by_expression
from suivi.core.functions import ExistsEach, MonthStart
from suivi.lib.ids import in_id_range, parse_id
from suivi.lib.text import fold
from suivi.parties.models import Party

from .models import Action, ActionKeyword, ActionStatus, ActionType, Folder, OpportunityStatus, Stage


def _visible_to(user, prefix: str = "") -> Q:
    """The condition of the actions ``user`` may see, over a relation ``prefix`` (for counts)."""
    if not (user and user.is_authenticated):
        return Q(pk__in=[])
    if user.is_manager:
        return Q()
    return Q(**{f"{prefix}private": False}) | Q(**{f"{prefix}followed_by": user}) | Q(**{f"{prefix}created_by": user})


def visible_actions(user) -> QuerySet[Action]:
    """The actions ``user`` may see: private ones only for their creator, follower and managers."""
    if not (user and user.is_authenticated):
        return Action.objects.none()
    return Action.objects.filter(_visible_to(user))


def access_action(user, action_id) -> Action:
    """The action ``action_id`` if ``user`` may see it; 404 otherwise (private ones included)."""
    try:
        return (
            visible_actions(user)
            .select_related("action_type", "party", "folder", "followed_by", "created_by")
            .get(pk=int(action_id))
        )
    except (Action.DoesNotExist, ValueError, TypeError) as e:
        raise Http404 from e


def access_folder(user, folder_id) -> Folder:
    if not (user and user.is_authenticated):
        raise Http404
    try:
        return Folder.objects.select_related("party", "stage", "followed_by").get(pk=int(folder_id))
    except (Folder.DoesNotExist, ValueError, TypeError) as e:
        raise Http404 from e


class ActionSchema(ExpressionSchema):
    """Fields an action search expression may name."""

    include = (Action, ActionType, Party, Folder, get_user_model())
    fields = {
        Action: [
            "subject",
            "status",
            "priority",
            "start",
            "end",
            "due_date",
            "billable",
            "private",
            "created_at",
            "action_type",
            "party",
            "folder",
            "followed_by",
        ],
        ActionType: ["name_fr", "name_en", "name_nl"],
        Party: ["name", "code", "city"],
        Folder: ["name", "status"],
        get_user_model(): ["username", "first_name", "last_name"],
    }


@dataclass
class ActionFilters:
    followed_by: int | None = None
    action_type: int | None = None
    status: str = ""
    party: int | None = None
    folder: int | None = None
    period_from: date | None = None
    period_to: date | None = None
    query: str = ""  # an expression (see ActionSchema)

    @classmethod
    def from_params(cls, params) -> "ActionFilters":
        def integer(name):
            return parse_id(params.get(name))

        def day(name):
            try:
                return date.fromisoformat(params.get(name) or "")
            except ValueError:
                return None

        status = params.get("status", "")
        return cls(
            followed_by=integer("followed_by"),
            action_type=integer("action_type"),
            status=status if status in {"todo", "done", "cancelled"} else "",
            party=integer("party"),
            folder=integer("folder"),
            period_from=day("from"),
            period_to=day("to"),
            query=params.get("query", ""),  # over the length limit: refused with a message, not cut
        )


def action_list(user, filters: ActionFilters) -> QuerySet[Action]:
    """Actions ``user`` sees, newest first. Raises ExpressionError for a bad ``query``."""
    return action_search(user, filters)[0]


def action_search(user, filters: ActionFilters) -> tuple[QuerySet[Action], int | None]:
    """The action list and the cap of its count: the usual one (None), or a page or two when a
    typed word is so common (more than ``BROAD_WORD`` actions) that counting its matches would
    read most rows."""
    count_cap: int | None = None
    qs = visible_actions(user)
    for name in ("followed_by", "action_type", "party", "folder"):
        value = getattr(filters, name)
        if value:
            qs = qs.filter(**{f"{name}_id": value})
    if filters.status:
        qs = qs.filter(status=filters.status)
    # Days as ranges of the date column (a function of it, ``when__date``, reads no index).
    if filters.period_from and filters.period_from > date.min + timedelta(days=1):
        qs = qs.filter(when__gte=_start_of(filters.period_from))
    if filters.period_to and filters.period_to < date.max - timedelta(days=1):
        qs = qs.filter(when__lt=_start_of(filters.period_to + timedelta(days=1)))
    if filters.query.strip():
        if looks_like_expression(filters.query):
            aliases, values = action_aliases()
            qs = filter_by_expression(qs, rewrite(filters.query, aliases, values), ActionSchema)
        else:
            qs, broad = matching_action_words(qs, filters.query)
            if broad:
                count_cap = BROAD_COUNT_CAP
    return qs.order_by("-when", "-id"), count_cap


def _start_of(day: date) -> datetime:
    """Midnight of ``day`` in the current time zone (days next to year 1 and 9999 mean no bound:
    their midnight may not exist in UTC)."""
    return timezone.make_aware(datetime.combine(day, time.min))


_EXPRESSION = re.compile(r'[=<>~"()]|!=|\b(?:and|or|not|in)\b\s*[("]', re.IGNORECASE)


def looks_like_expression(text: str) -> bool:
    """Plain words (``Namur``, ``offre toiture``) search; anything with an operator, a quote or a
    parenthesis is an expression (``status = "todo"``)."""
    return bool(_EXPRESSION.search(text))


# A word found in at most this many actions is looked up by their ids (reading more ids costs more
# than it saves); a commoner word is checked row by row while the list walks its date index (it
# soon finds a page), and its count stops at a page or two.
BROAD_WORD = 2_000
BROAD_COUNT_CAP = 100


def matching_action_words(qs: QuerySet[Action], text: str) -> tuple[QuerySet[Action], bool]:
    """Actions where every typed word starts a word of the subject or of the party's name, code
    or city, or is in the folder's name or a contact's name; and whether a word was broad.

    Each word is matched by index (the action and party keywords; folders are few). A word of a
    few thousand actions at most — a name, a typo, ``zzzz`` — becomes the list of their ids, so
    the page reads those rows instead of walking a million actions in date order.
    """
    broad = False
    for raw in dict.fromkeys(re.findall(r"\w+", text)):  # each typed word once, as typed
        word = fold(raw)[:60]
        ids: set[int] = set()
        for source in _word_sources(word, raw):
            ids.update(source.values_list("pk" if source.model is Action else "action_id", flat=True)[: BROAD_WORD + 1])
            if len(ids) > BROAD_WORD:
                break
        if len(ids) <= BROAD_WORD:
            qs = qs.filter(pk__in=ids)
        else:
            qs = qs.filter(_has_word(word, raw))
            broad = True
    return qs, broad


def _has_word(word: str, raw: str) -> Q:
    """``word`` checked on each row, as ``EXISTS`` look-ups by the row's own keys: the list then
    walks its date index and stops at a page, where ``IN (…)`` would gather every match and sort."""
    from suivi.parties.models import PartyKeyword

    def starting(model, **outer) -> Exists:
        words = model.objects.filter(word=word) if len(word) == 1 else model.objects.filter(word__prefix=word)
        return ExistsEach(words.filter(**{name: OuterRef(key) for name, key in outer.items()}))

    return (
        Q(starting(ActionKeyword, action_id="pk"))
        | Q(starting(PartyKeyword, party_id="party_id"))
        | Q(folder_id__in=Folder.objects.filter(name__icontains=raw).values("pk"))
        | Q(
            ExistsEach(
                Action.contacts.through.objects.filter(action_id=OuterRef("pk"), contact__name_key__contains=word)
            )
        )
    )


def _word_sources(word: str, raw: str) -> list[QuerySet]:
    """The four ways an action matches ``word``: its subject, party, folder and contacts."""
    from suivi.parties.models import Contact, PartyKeyword

    def starting(model) -> QuerySet:  # a one-letter word matches whole words only
        return model.objects.filter(word=word) if len(word) == 1 else model.objects.filter(word__prefix=word)

    return [
        starting(ActionKeyword).order_by(),
        Action.objects.filter(party_id__in=starting(PartyKeyword).values("party_id")).order_by(),
        Action.objects.filter(folder_id__in=Folder.objects.filter(name__icontains=raw).values("pk")).order_by(),
        Action.contacts.through.objects.filter(
            contact_id__in=Contact.objects.filter(name_key__contains=word).values("pk")
        ).order_by(),
    ]


@cache
def _aliases_in(language: str) -> tuple[dict[str, str], dict[str, str]]:
    with translation.override(language):
        names = {
            fold(str(getattr(Action._meta.get_field(name), "verbose_name", name))).replace(" ", "_"): name
            for name in ActionSchema.fields[Action]
        }
        statuses = {fold(str(label)): value for value, label in ActionStatus.choices}
    return names, statuses


def action_aliases() -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Field names and status values of action expressions in French, Dutch and English (from
    the translations of the fields' labels, so they follow the catalogues)."""
    names: dict[str, str] = {}
    statuses: dict[str, str] = {}
    for language in ("en", "nl", "fr"):
        more_names, more_statuses = _aliases_in(language)
        names.update(more_names)
        statuses.update(more_statuses)
    return names, {"status": statuses}


def with_action_relations(qs: QuerySet[Action]) -> QuerySet[Action]:
    return qs.select_related("action_type", "party", "folder", "followed_by")


# --- pages of actions ----------------------------------------------------------------------------
# Sorted by date, pages go by keyset (``after`` / ``before`` a cursor): page 1,000 costs what page
# 1 does, both ways. The other sorts page by number. Only columns with an index of their own are
# sortable: a sort over a join (party name, type, follower) reads every row at a million actions.

SORTS: dict[str, tuple[str, ...]] = {
    "-when": ("-when", "-id"),
    "when": ("when", "id"),
    "subject": ("subject", "id"),
    "-subject": ("-subject", "-id"),
    "status": ("status", "-when", "-id"),
    "-status": ("-status", "when", "id"),  # the status index read backwards
}
KEYSET_SORTS = ("-when", "when")


def encode_cursor(action: Action) -> str:
    raw = json.dumps([action.when.isoformat(), action.pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        when_text, pk = json.loads(base64.urlsafe_b64decode(padded))
        when = datetime.fromisoformat(when_text)
        if timezone.is_naive(when):
            when = timezone.make_aware(when)
        when = when.astimezone(UTC)  # year 1 or 9999 may not fit in UTC
        pk = int(pk)
        if not in_id_range(pk):
            raise ValueError(pk)
    except (ValueError, TypeError, OverflowError, RecursionError):
        return None
    return when, pk


def _seek(qs: QuerySet[Action], cursor: str, *, descending: bool) -> QuerySet[Action]:
    """Rows past ``cursor`` going down (``descending``) or up the date order; an unreadable
    cursor means the first page."""
    decoded = _decode_cursor(cursor)
    if decoded is None:
        return qs
    when, pk = decoded
    if descending:
        return qs.filter(Q(when__lt=when) | Q(when=when, id__lt=pk))
    return qs.filter(Q(when__gt=when) | Q(when=when, id__gt=pk))


def after_cursor(qs: QuerySet[Action], cursor: str) -> QuerySet[Action]:
    """Rows after ``cursor`` in the (-when, -id) order (the API and the timeline page this way)."""
    return _seek(qs, cursor, descending=True)


@dataclass
class ActionPage:
    rows: list[Action]
    next_cursor: str | None = None
    previous_cursor: str | None = None
    next_number: int | None = None
    previous_number: int | None = None
    size: int = 50


def _rows(qs: QuerySet[Action], order: tuple[str, ...], bottom: int, top: int) -> list[Action]:
    """``qs[bottom:top]`` in ``order``: the ids first, from the action table alone, then those rows
    with the relations ``qs`` selects. Joined in one query, the planner may start from a small
    joined table (the 50 users) and sort every action of each; alone, it reads the index range."""
    ids = list(qs.order_by(*order).values_list("pk", flat=True)[bottom:top])
    if not ids:
        return []
    by_id = {row.pk: row for row in qs.order_by().filter(pk__in=ids)}
    return [by_id[pk] for pk in ids if pk in by_id]


def action_page(
    qs: QuerySet[Action], cursor: str = "", size: int = 50, *, sort: str = "-when", before: str = "", number: int = 1
) -> ActionPage:
    """One page of ``qs`` in the ``sort`` order: after ``cursor``, before ``before``, or page
    ``number`` for the sorts that are not by date."""
    order = SORTS.get(sort, SORTS["-when"])
    if sort not in SORTS or sort in KEYSET_SORTS:
        descending = sort != "when"
        if before:
            reverse = tuple(f[1:] if f.startswith("-") else f"-{f}" for f in order)
            rows = _rows(_seek(qs, before, descending=not descending), reverse, 0, size + 1)
            more_before = len(rows) > size
            rows = rows[:size][::-1]
            return ActionPage(
                rows=rows,
                next_cursor=encode_cursor(rows[-1]) if rows else None,
                previous_cursor=encode_cursor(rows[0]) if rows and more_before else None,
                size=size,
            )
        if cursor:
            qs = _seek(qs, cursor, descending=descending)
        rows = _rows(qs, order, 0, size + 1)
        more = len(rows) > size
        rows = rows[:size]
        return ActionPage(
            rows=rows,
            next_cursor=encode_cursor(rows[-1]) if more else None,
            previous_cursor=encode_cursor(rows[0]) if cursor and rows else None,
            size=size,
        )
    number = max(1, min(number, 10_000))
    rows = _rows(qs, order, (number - 1) * size, number * size + 1)
    return ActionPage(
        rows=rows[:size],
        next_number=number + 1 if len(rows) > size else None,
        previous_number=number - 1 if number > 1 else None,
        size=size,
    )


# --- folders ----------------------------------------------------------------------------------


def folder_choices(party_id: int | None = None) -> list[Folder]:
    """Folders a picker offers: the party's own folders first (shown in bold), then the general
    folders. Other parties' folders are not offered."""
    folders = Folder.objects.filter(archived=False).filter(
        Q(party__isnull=True) | Q(party_id=party_id) if party_id else Q(party__isnull=True)
    )
    return list(
        folders.annotate(
            own=Case(When(party__isnull=False, then=Value(0)), default=Value(1), output_field=IntegerField())
        ).order_by("own", "name", "id")
    )


def folder_list(user, *, q: str = "", party_id: int | None = None) -> QuerySet[Folder]:
    qs = Folder.objects.filter(archived=False).select_related("party", "stage", "followed_by")
    if party_id:
        qs = qs.filter(Q(party_id=party_id) | Q(party__isnull=True))
    if q:
        qs = qs.filter(name__icontains=q)
    return qs.annotate(action_count=Count("actions", filter=_visible_to(user, "actions__"))).order_by(
        Case(When(party__isnull=False, then=Value(0)), default=Value(1), output_field=IntegerField()), "name", "id"
    )


# --- party timeline -----------------------------------------------------------------------------


def party_timeline(user, party: Party, cursor: str = "", size: int = 25) -> ActionPage:  # newest first
    qs = with_action_relations(visible_actions(user).filter(party=party)).order_by("-when", "-id")
    return action_page(qs, cursor, size)


# --- pipeline -----------------------------------------------------------------------------------


@dataclass
class Column:
    stage: Stage
    cards: list[Folder]
    count: int
    budget: object
    weighted: object

    @property
    def more(self) -> int:
        return self.count - len(self.cards)


CARDS_PER_STAGE = 20
# What a card shows: reading only these keeps the board's rows small.
CARD_FIELDS = (
    "name",
    "budget",
    "currency",
    "probability",
    "expected_close",
    "stage_id",
    "party__name",
    "followed_by__username",
    "followed_by__first_name",
    "followed_by__last_name",
)


def _open_opportunities(followed_by: int | None) -> QuerySet[Folder]:
    opportunities = Folder.objects.filter(is_opportunity=True, status=OpportunityStatus.OPEN, archived=False)
    if followed_by:
        opportunities = opportunities.filter(followed_by_id=followed_by)
    return opportunities


def pipeline(user, *, followed_by: int | None = None, limit_per_stage: int = CARDS_PER_STAGE) -> list[Column]:
    """Open opportunities by stage, with column totals of budget and weighted amount.

    Totals cover every open opportunity; each column shows the ``limit_per_stage`` closing
    soonest, and loads more on demand (``stage_cards``): a column of a thousand cards helps
    nobody, and renders slowly.
    """
    opportunities = _open_opportunities(followed_by)
    totals: dict[int, Any] = {
        row["stage"]: row
        for row in opportunities.values("stage").annotate(
            n=Count("id"),
            weighted_total=Sum(F("budget") * F("probability"), output_field=DecimalField()) / 100,
            budget_total=Sum("budget"),
        )
    }
    columns = []
    for stage in Stage.objects.all():
        total = totals.get(stage.pk, {})
        columns.append(
            Column(
                stage,
                stage_cards(user, stage, followed_by=followed_by, limit=limit_per_stage) if total else [],
                total.get("n") or 0,
                total.get("budget_total") or 0,
                round(total.get("weighted_total") or 0, 2),
            )
        )
    return columns


def stage_cards(
    user, stage: Stage, *, followed_by: int | None = None, offset: int = 0, limit: int = CARDS_PER_STAGE
) -> list[Folder]:
    """The open opportunities of ``stage`` closing soonest, from ``offset``."""
    return list(
        _open_opportunities(followed_by)
        .filter(stage=stage)
        .select_related("party", "followed_by")
        .only(*CARD_FIELDS)
        .order_by("expected_close", "id")[offset : offset + limit]
    )


def stage_count(user, stage: Stage, *, followed_by: int | None = None) -> int:
    return _open_opportunities(followed_by).filter(stage=stage).count()


def forecast(user, *, followed_by: int | None = None) -> list[dict]:
    """Opportunities by month of expected close: open ones (count, budget, weighted amount) beside
    the won and lost ones (count and budget), so the forecast reads against what happened."""
    opportunities = Folder.objects.filter(
        is_opportunity=True,
        status__in=(OpportunityStatus.OPEN, OpportunityStatus.WON, OpportunityStatus.LOST),
        expected_close__isnull=False,
        archived=False,
    )
    if followed_by:
        opportunities = opportunities.filter(followed_by_id=followed_by)
    rows = (
        opportunities.annotate(month=MonthStart("expected_close"))
        .values("month", "status")
        .annotate(
            n=Count("id"),
            budget_total=Sum("budget"),
            weighted_total=Sum(F("budget") * F("probability"), output_field=DecimalField()),
        )
        .order_by()
    )
    months: dict = {}
    for row in rows:
        m = months.setdefault(
            row["month"],
            {"month": row["month"], "count": 0, "budget": 0, "weighted": 0}
            | {f"{s}{suffix}": 0 for s in ("won", "lost") for suffix in ("", "_budget")},
        )
        budget = row["budget_total"] or 0
        if row["status"] == OpportunityStatus.OPEN:
            m["count"], m["budget"] = row["n"], budget
            m["weighted"] = round((row["weighted_total"] or 0) / 100, 2)
        else:
            m[row["status"]], m[f"{row['status']}_budget"] = row["n"], budget
    return [months[k] for k in sorted(months)]


# --- home page ------------------------------------------------------------------------------------


def my_open_actions_due(user, today: date, limit: int = 15) -> list[Action]:
    """``user``'s open actions of today and before, overdue first (an index range on follower,
    status and date)."""
    end_of_today = timezone.make_aware(datetime.combine(today + timedelta(days=1), datetime.min.time()))
    actions = list(
        with_action_relations(visible_actions(user))
        .filter(followed_by=user, status=ActionStatus.TODO, when__lt=end_of_today)
        .order_by("when", "id")[:limit]
    )
    for action in actions:
        action.overdue = timezone.localdate(action.when) < today  # type: ignore[attr-defined]  # for the page only
    return actions


def my_opportunities_closing(user, today: date, limit: int = 10) -> list[Folder]:
    """``user``'s open opportunities expected to close by the end of this month (late ones first)."""
    next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    return list(
        Folder.objects.filter(
            is_opportunity=True,
            status=OpportunityStatus.OPEN,
            archived=False,
            followed_by=user,
            expected_close__lt=next_month,
        )
        .select_related("party", "stage")
        .order_by("expected_close", "id")[:limit]
    )


def parties_touched_by(user, limit: int = 8) -> list[Party]:
    """The parties ``user`` last wrote to, or wrote an action of, newest first (from the audit
    trail: three small queries whatever the data's size)."""
    from suivi.core.models import AuditEvent
    from suivi.parties.queries import visible_parties

    events = list(
        AuditEvent.objects.filter(actor=user, object_type__in=("parties.party", "activities.action"))
        .order_by("-id")
        .values_list("object_type", "object_id")[:200]
    )
    action_ids = [int(pk) for kind, pk in events if kind == "activities.action" and pk.isdigit()]
    party_of_action = dict(
        visible_actions(user).filter(pk__in=action_ids, party__isnull=False).values_list("pk", "party_id")
    )
    ordered: list[int] = []
    for kind, pk in events:
        party_id = int(pk) if kind == "parties.party" and pk.isdigit() else party_of_action.get(int(pk))
        if party_id and party_id not in ordered:
            ordered.append(party_id)
        if len(ordered) == limit:
            break
    found = {p.pk: p for p in visible_parties(user).filter(pk__in=ordered)}
    return [found[pk] for pk in ordered if pk in found]
