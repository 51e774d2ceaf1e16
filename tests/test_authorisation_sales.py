"""The authorisation table of the commercial side: every documents and sales-settings page and
sales API route × anonymous, another user, a seller (the owner, in the Sales group), a manager and
an administrator (the machinery is ``authorisation.py``)."""

import pytest

from suivi.activities.models import ActionType

from .authorisation import (
    ALL,
    API_ALL,
    MANAGERS,
    ROLES,
    L,
    _api,
    _page,
    _sales_model,
    make_world,
)


@pytest.fixture
def world(db):
    return make_world()


# --- the commercial side (issue 9) -----------------------------------------------------------------
# Every user reads documents and the sales settings; sellers (managers and the Sales group: here
# the *owner*) write documents; managers configure. Not behind the CRM gate.

SELLERS = {"anonymous": L, "other": 403, "owner": 302, "manager": 302, "admin": 302}
SELLERS_READ = {"anonymous": L, "other": 403, "owner": 200, "manager": 200, "admin": 200}
API_SELLERS = {"anonymous": 401, "other": 403, "owner": 200, "manager": 200, "admin": 200}
API_SELLERS_CREATED = {"anonymous": 401, "other": 403, "owner": 201, "manager": 201, "admin": 201}
API_MANAGERS = {"anonymous": 401, "other": 403, "owner": 403, "manager": 200, "admin": 200}
API_MANAGERS_CREATED = {"anonymous": 401, "other": 403, "owner": 403, "manager": 201, "admin": 201}


@pytest.fixture
def sales_world(world):
    from django.contrib.auth.models import Group

    from suivi.sales import services as sales_services
    from suivi.sales.demo import load_sales
    from suivi.sales.models import Article, DocumentEvent, Journal, Layout, VatRate

    load_sales()
    owner = world["users"]["owner"]
    owner.groups.add(Group.objects.get_or_create(name="Sales")[0])
    journal = Journal.objects.get(code="VF")
    rate = VatRate.objects.get(code="21")
    lines = [{"description": "Work", "quantity": "2", "unit_price": "50", "vat_rate": rate}]
    values = {"journal": journal, "party": world["party"]}
    draft = sales_services.create_document(acting_user=owner, values=values, lines=lines)
    invoice = sales_services.create_document(acting_user=owner, values=values, lines=lines)
    invoice = sales_services.validate_document(acting_user=owner, document=invoice, expected_version=1)
    layout = Layout.objects.get(journal=journal)
    failed = DocumentEvent.objects.create(
        document=invoice,
        kind="email",
        layout=layout,
        user=owner,
        idempotency_key="x",
        status="failed",
        recipient="a@b.be",
    )
    from suivi.sales import rules

    rule = rules.save_rule(
        acting_user=world["users"]["manager"],
        layout=layout,
        kind="print",
        values={"enabled": True, "action_type": ActionType.objects.first()},
    )
    return {
        **world,
        "rule": rule,
        "article": Article.objects.get(code="CONSULT"),
        "event": failed,
        "draft": draft,
        "invoice": invoice,
        "journal": journal,
        "layout": layout,
        "rate": rate,
    }


def _sales_version(key):
    return lambda w, u: {"version": _sales_model(key).objects.get(pk=w[key].pk).version}


def _draft_form(w, u):
    return {
        "party": w["party"].pk,
        "journal": w["journal"].pk,
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-0-description": "Work",
        "lines-0-quantity": "1",
        "lines-0-unit_price": "10",
        "lines-0-vat_rate": w["rate"].pk,
        **_sales_version("draft")(w, u),
    }


def _sales_if_match(key):
    return lambda w: {"HTTP_IF_MATCH": f'"{_sales_model(key).objects.get(pk=w[key].pk).version}"'}


SALES_PAGES = [
    ("documents", "get", "/sales/documents/", None, ALL, None),
    ("document", "get", "/sales/documents/{invoice}/", None, ALL, None),
    ("draft preview", "get", "/sales/documents/{draft}/preview.pdf", None, ALL, None),
    ("new document", "get", "/sales/documents/new/?party={party}", None, SELLERS_READ, None),
    ("create document", "post", "/sales/documents/new/", _draft_form, SELLERS, None),
    ("edit draft form", "get", "/sales/documents/{draft}/update/", None, SELLERS_READ, None),
    ("edit draft", "post", "/sales/documents/{draft}/update/", _draft_form, SELLERS, "draft"),
    ("validate", "post", "/sales/documents/{draft}/validate/", _sales_version("draft"), SELLERS, "draft"),
    ("cancel draft", "post", "/sales/documents/{draft}/cancel/", None, SELLERS, "draft"),
    ("credit note", "post", "/sales/documents/{invoice}/convert/", lambda w, u: {"kind": "credit_note"}, SELLERS, None),
    (
        "print",
        "post",
        "/sales/documents/{invoice}/print/",
        lambda w, u: {"layout": w["layout"].pk},
        {**SELLERS_READ},
        "invoice",
    ),
    (
        "send",
        "post",
        "/sales/documents/{invoice}/send/",
        lambda w, u: {"layout": w["layout"].pk, "to": "x@example.com"},
        SELLERS,
        "invoice",
    ),
    (
        "send again",
        "post",
        "/sales/documents/{invoice}/sends/{event}/retry/",
        None,
        SELLERS,
        "invoice",
    ),
    ("sales settings", "get", "/sales/settings/journals/", None, ALL, None),
    ("linked-action rules screen", "get", "/sales/settings/layouts/{layout}/linked-actions/", None, ALL, None),
    (
        "save linked-action rules",
        "post",
        "/sales/settings/layouts/{layout}/linked-actions/",
        lambda w, u: {
            **{
                f"{kind}-{k}": v
                for kind in ("print", "email")
                for k, v in {
                    "subject_template": "{{ document.number }}",
                    "folder_mode": "none",
                    "follower_mode": "acting",
                    "status": "done",
                    "due_in_days": "0",
                }.items()
            },
            "print-version": _sales_model("rule").objects.get(pk=w["rule"].pk).version,
        },
        MANAGERS,
        "rule",
    ),
    ("layout form", "get", "/sales/settings/layouts/{layout}/", None, ALL, None),
    ("new article form", "get", "/sales/settings/articles/new/", None, ALL, None),
    (
        "create VAT rate",
        "post",
        "/sales/settings/vat-rates/new/",
        lambda w, u: {"code": "X", "label": "X", "rate": "5", "active": "on"},
        {**MANAGERS, "manager": 302},
        None,
    ),
    (
        "edit journal",
        "post",
        "/sales/settings/journals/{journal}/",
        lambda w, u: {
            "code": "VF",
            "name": "Ventes",
            "kind": "invoice",
            "side": "sales",
            "numbering_pattern": "{year}-{seq:04}",
            "active": "on",
            **_sales_version("journal")(w, u),
        },
        MANAGERS,
        "journal",
    ),
    (
        "close year",
        "post",
        "/sales/settings/journals/{journal}/years/",
        lambda w, u: {"year": "2020", "closed": "1"},
        MANAGERS,
        None,
    ),
]

SALES_API = [
    ("documents", "get", "/api/v1/documents/", None, API_ALL, None, None),
    ("document", "get", "/api/v1/documents/{invoice}/", None, API_ALL, None, None),
    (
        "create document",
        "post",
        "/api/v1/documents/",
        lambda w, u: {
            "journal": w["journal"].pk,
            "party": w["party"].pk,
            "lines": [{"description": "A", "vat_rate": w["rate"].pk}],
        },
        API_SELLERS_CREATED,
        None,
        None,
    ),
    (
        "patch draft",
        "patch",
        "/api/v1/documents/{draft}/",
        lambda w, u: {"notes": "n"},
        API_SELLERS,
        "draft",
        _sales_if_match("draft"),
    ),
    ("validate", "post", "/api/v1/documents/{draft}/validate/", _sales_version("draft"), API_SELLERS, "draft", None),
    ("pdf", "get", "/api/v1/documents/{invoice}/pdf/", None, API_SELLERS, "invoice", None),
    (
        "send",
        "post",
        "/api/v1/documents/{invoice}/send/",
        lambda w, u: {"to": "x@example.com"},
        API_SELLERS,
        "invoice",
        None,
    ),
    ("cancel draft", "post", "/api/v1/documents/{draft}/cancel/", None, API_SELLERS, "draft", None),
    (
        "credit note",
        "post",
        "/api/v1/documents/{invoice}/convert/",
        lambda w, u: {"kind": "credit_note"},
        API_SELLERS_CREATED,
        None,
        None,
    ),
    ("linked-action rules", "get", "/api/v1/linked-action-rules/", None, API_ALL, None, None),
    ("linked-action rule", "get", "/api/v1/linked-action-rules/{rule}/", None, API_ALL, None, None),
    (
        "create linked-action rule",
        "post",
        "/api/v1/linked-action-rules/",
        lambda w, u: {"layout": w["layout"].pk, "event_kind": "email", "enabled": False},
        API_MANAGERS_CREATED,
        None,
        None,
    ),
    (
        "patch linked-action rule",
        "patch",
        "/api/v1/linked-action-rules/{rule}/",
        lambda w, u: {"attach_pdf": False},
        API_MANAGERS,
        "rule",
        _sales_if_match("rule"),
    ),
    ("document linked actions", "get", "/api/v1/documents/{invoice}/linked-actions/", None, API_ALL, None, None),
    (
        "link an action to a document",
        "post",
        "/api/v1/documents/{invoice}/linked-actions/",
        lambda w, u: {"action": w["secret"].pk},
        {"anonymous": 401, "other": 404, "owner": 201, "manager": 201, "admin": 201},
        None,
        None,
    ),
    ("articles", "get", "/api/v1/articles/", None, API_ALL, None, None),
    ("article", "get", "/api/v1/articles/{article}/", None, API_ALL, None, None),
    ("journal", "get", "/api/v1/journals/{journal}/", None, API_ALL, None, None),
    ("VAT rate", "get", "/api/v1/vat-rates/{rate}/", None, API_ALL, None, None),
    ("journals", "get", "/api/v1/journals/", None, API_ALL, None, None),
    ("layouts", "get", "/api/v1/layouts/", None, API_ALL, None, None),
    ("VAT rates", "get", "/api/v1/vat-rates/", None, API_ALL, None, None),
    (
        "create article",
        "post",
        "/api/v1/articles/",
        lambda w, u: {"code": f"A{u.pk}", "name_fr": "A", "vat_rate": w["rate"].pk},
        API_MANAGERS_CREATED,
        None,
        None,
    ),
    (
        "patch layout",
        "patch",
        "/api/v1/layouts/{layout}/",
        lambda w, u: {"name": "N"},
        API_MANAGERS,
        "layout",
        _sales_if_match("layout"),
    ),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name, method, url, data, expected, key", SALES_PAGES, ids=[r[0] for r in SALES_PAGES])
def test_sales_pages(sales_world, role, name, method, url, data, expected, key):
    _page(sales_world, role, name, method, url, data, expected, key)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name, method, url, data, expected, key, headers", SALES_API, ids=[r[0] for r in SALES_API])
def test_sales_api(sales_world, role, name, method, url, data, expected, key, headers):
    _api(sales_world, role, name, method, url, data, expected, key, headers)
