"""Linked-action rules (S12), generated actions (S13) and the linked document (S16, S17):
issue 9, points 5, 6 and 7."""

import re
import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from suivi.activities.models import Action, ActionType, Attachment, Folder
from suivi.core.errors import InvalidInput, PermissionDenied
from suivi.core.models import CompanySettings
from suivi.sales import links, rules, services
from suivi.sales.models import DocumentAction, DocumentEvent, Layout, LinkedActionRule, LinkedActionRun

from . import factories
from .conftest import logged_in, make_user
from .sales_world import draft, line, sales, validated  # noqa: F401  (fixture)
from .test_sales_print_mail import free_port, pdf_text, smtp  # noqa: F401  (fixture)


def call_type():
    return ActionType.objects.filter(active=True).order_by("position", "id").first()


def rule(world, kind="print", layout=None, **values):
    layout = layout or Layout.objects.get(journal=world["journals"]["VF"])
    return rules.save_rule(
        acting_user=world["manager"],
        layout=layout,
        kind=kind,
        values={"enabled": True, "action_type": call_type(), **values},
        expected_version=rules.rule_of(layout, kind).version if rules.rule_of(layout, kind) else None,
    )


def invoice_and_layout(world):
    invoice = validated(world)
    return invoice, Layout.objects.get(journal=invoice.journal)


def print_it(world, invoice, layout, key=None):
    return services.print_document(
        acting_user=world["seller"], document=invoice, layout=layout, idempotency_key=key or uuid.uuid4().hex
    )


# --- S12: the rule -------------------------------------------------------------------------------


def test_a_rule_is_saved_by_a_manager_only_and_its_template_errors_name_their_line(sales):  # noqa: F811
    layout = Layout.objects.get(journal=sales["journals"]["VF"])
    with pytest.raises(PermissionDenied):
        rules.save_rule(acting_user=sales["seller"], layout=layout, kind="print", values={"enabled": False})
    with pytest.raises(InvalidInput) as bad:
        rule(sales, subject_template="Sent {{ document.number }}\n{{ document.secret }}")
    assert (
        "Line 2" in bad.value.errors["subject_template"] and "document.secret" in bad.value.errors["subject_template"]
    )
    with pytest.raises(InvalidInput) as broken:
        rule(sales, subject_template="{% if %}")
    assert "Line 1" in broken.value.errors["subject_template"]
    with pytest.raises(InvalidInput) as no_type:
        rule(sales, action_type=None)
    assert "action_type" in no_type.value.errors
    saved = rule(sales, subject_template="{{ document.journal_code }} {{ document.number }} {{ party.name }}")
    assert saved.enabled and saved.version == 1
    assert not Action.objects.exists()  # saving a rule generates nothing


def test_a_fixed_folder_must_be_general_and_a_fixed_follower_must_be_in_the_followed_by_list(sales):  # noqa: F811
    party_folder = factories.folder(sales["manager"], name="Dupont roof", party=sales["party"])
    with pytest.raises(InvalidInput) as bad_folder:
        rule(sales, folder_mode="fixed", folder=party_folder)
    assert "general folder" in bad_folder.value.errors["folder"]
    CompanySettings.objects.filter(pk=1).update(followed_by_expression='username = "sam"')
    with pytest.raises(InvalidInput) as bad_user:
        rule(sales, follower_mode="fixed", follower=sales["reader"])
    assert "not among the users who may follow" in bad_user.value.errors["follower"]
    assert rule(sales, follower_mode="fixed", follower=sales["seller"]).follower == sales["seller"]


# --- S13: generated actions ----------------------------------------------------------------------


def test_a_print_generates_one_action_linked_to_the_document_and_party_with_the_pdf(sales):  # noqa: F811
    invoice, layout = invoice_and_layout(sales)
    rule(
        sales,
        subject_template="Call back about {{ document.number }} ({{ document.total_incl|money }})",
        status="todo",
        due_in_days=8,
        attach_pdf=True,
    )
    event, pdf = print_it(sales, invoice, layout, key="click-1")
    again, _pdf = print_it(sales, invoice, layout, key="click-1")  # a double click, a retried request
    assert again.pk == event.pk
    action = Action.objects.get()
    assert action.subject == "Call back about 2025/00001 (121,00\u00a0€)"
    assert action.party == sales["party"] and action.followed_by == sales["seller"]
    assert action.status == "todo" and action.due_date == timezone.localdate() + timedelta(days=8)
    assert list(action.contacts.all()) == [sales["contact"]]
    link = DocumentAction.objects.get()
    assert (link.document, link.action, link.event) == (invoice, action, event)
    attachment = Attachment.objects.get(action=action)
    assert attachment.content_type == "application/pdf" and attachment.name == "VF-2025-00001.pdf"
    from suivi.activities.attachments import open_file

    with open_file(attachment) as stored:
        assert "2025/00001" in pdf_text(stored.read())[1]
    timeline = logged_in(sales["seller"]).get(f"/parties/{sales['party'].pk}/").content.decode()
    assert f"/crm/actions/{action.pk}/" in timeline  # on the party's timeline
    print_it(sales, invoice, layout, key="click-2")  # another print is another action
    assert Action.objects.count() == 2 and LinkedActionRun.objects.count() == 2


def test_two_page_requests_with_the_same_key_give_one_print_and_one_action(sales):  # noqa: F811
    invoice, layout = invoice_and_layout(sales)
    rule(sales, attach_pdf=False)
    client = logged_in(sales["seller"])
    for _n in range(2):
        response = client.post(f"/sales/documents/{invoice.pk}/print/", {"layout": layout.pk, "key": "same"})
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert DocumentEvent.objects.count() == 1 and Action.objects.count() == 1
    assert not Attachment.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_prints_with_the_same_key_give_one_action_on_postgresql(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions: PostgreSQL")
    import importlib

    from django.apps import apps
    from django.db import connections

    importlib.import_module("suivi.activities.migrations.0002_default_types_and_stages").create(apps, None)
    CompanySettings.objects.get_or_create(pk=1)
    world = _world()
    invoice, layout = invoice_and_layout(world)
    rule(world, attach_pdf=False)
    barrier = threading.Barrier(2)
    errors = []

    def press():
        try:
            barrier.wait(5)
            print_it(world, invoice, layout, key="together")
        except Exception as e:  # noqa: BLE001  (reported below)
            errors.append(e)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=press) for _n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert DocumentEvent.objects.filter(document=invoice).count() == 1
    assert Action.objects.count() == 1 and DocumentAction.objects.count() == 1


def _world():
    from django.contrib.auth.models import Group

    from suivi.accounts.models import Role
    from suivi.sales.demo import load_sales
    from suivi.sales.models import Journal, VatRate

    load_sales()
    seller = make_user("sam", first_name="Sam")
    seller.groups.add(Group.objects.get_or_create(name="Sales")[0])
    manager = make_user("maya", Role.MANAGER)
    party = factories.party(manager, name="Brasserie Dupont", email="compta@dupont.example")
    contact = factories.contact(manager, party=party, last_name="Dupont", email="anne@dupont.example")
    return {
        "seller": seller,
        "manager": manager,
        "party": party,
        "contact": contact,
        "journals": {j.code: j for j in Journal.objects.all()},
        "rates": {r.code: r for r in VatRate.objects.all()},
    }


def test_no_action_for_a_failed_send_and_one_once_it_is_sent_again(sales, settings, smtp):  # noqa: F811
    invoice, layout = invoice_and_layout(sales)
    rule(sales, kind="email", subject_template="E-mailed {{ document.number }}", attach_pdf=True)
    good_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = free_port()  # nobody listens there
    event = services.send_document(acting_user=sales["seller"], document=invoice, layout=layout, idempotency_key="m1")
    assert event.status == "failed" and not Action.objects.exists()
    assert "the e-mail was not sent" in links.why_no_action(invoice).reason
    page = logged_in(sales["seller"]).get(f"/sales/documents/{invoice.pk}/")
    assert "Why was no action generated?" in page.content.decode()
    settings.EMAIL_PORT = good_port
    services.retry_send(acting_user=sales["seller"], event=event)
    services.send_document(acting_user=sales["seller"], document=invoice, layout=layout, idempotency_key="m1")
    action = Action.objects.get()
    assert action.subject == "E-mailed 2025/00001" and len(smtp.messages) == 1
    assert "e-mailed to anne@dupont.example" in action.description
    assert action.attachments.get().content_type == "application/pdf"
    assert links.why_no_action(invoice) is None


@pytest.mark.parametrize(
    "setup, reason",
    [
        ("no rule", "has no linked-action rule for printing"),
        ("rule off", "rule of the layout “Standard” for printing is off"),
        ("CRM off", "the CRM option was off"),
        ("follower refused", "is not among the users who may follow actions"),
    ],
)
def test_the_document_page_says_why_no_action_was_generated(sales, setup, reason):  # noqa: F811
    invoice, layout = invoice_and_layout(sales)
    if setup == "rule off":
        rule(sales, enabled=False)
    if setup == "CRM off":
        rule(sales)
        CompanySettings.objects.filter(pk=1).update(crm_enabled=False)
    if setup == "follower refused":
        rule(sales, follower_mode="fixed", follower=sales["reader"])
        CompanySettings.objects.filter(pk=1).update(followed_by_expression='username = "sam"')
    layout.refresh_from_db()
    assert layout.name == "Standard"
    print_it(sales, invoice, layout)
    assert not Action.objects.exists() and not Folder.objects.filter(party=sales["party"]).exists()
    page = logged_in(sales["seller"]).get(f"/sales/documents/{invoice.pk}/").content.decode()
    assert "Why was no action generated?" in page and reason in page, page[page.find("data-linked-actions") :][:800]


def test_a_to_do_action_lands_in_its_followers_list_and_home_page_with_its_due_date(sales):  # noqa: F811
    invoice, layout = invoice_and_layout(sales)
    rep = make_user("rex", first_name="Rex")
    sales["party"].sales_rep = rep
    sales["party"].save(update_fields=["sales_rep"])
    rule(sales, follower_mode="sales_rep", status="todo", due_in_days=0, attach_pdf=False, subject_template="Call")
    print_it(sales, invoice, layout)
    action = Action.objects.get()
    assert action.followed_by == rep and action.due_date == timezone.localdate()
    client = logged_in(rep)
    home = client.get("/").content.decode()
    assert f"/crm/actions/{action.pk}/" in home
    mine = client.get(f"/crm/actions/?followed_by={rep.pk}&status=todo&sort=when").content.decode()
    assert f"/crm/actions/{action.pk}/" in mine


def test_folders_fixed_the_documents_or_a_party_folder_named_by_template(sales):  # noqa: F811
    general = factories.folder(sales["manager"], name="Quotes sent")
    invoice, layout = invoice_and_layout(sales)
    rule(sales, folder_mode="fixed", folder=general, attach_pdf=False)
    print_it(sales, invoice, layout)
    assert Action.objects.latest("id").folder == general
    rule(sales, folder_mode="party", folder_name_template="Invoices {{ party.name }}")
    print_it(sales, invoice, layout)
    print_it(sales, invoice, layout)
    folder = Folder.objects.get(party=sales["party"])
    assert folder.name == "Invoices Brasserie Dupont" and folder.actions.count() == 2  # made once, then reused
    own = factories.folder(sales["manager"], name="Dupont renovation", party=sales["party"])
    other = validated(sales, folder=own)
    rule(sales, folder_mode="document")
    print_it(sales, other, layout)
    assert Action.objects.latest("id").folder == own


# --- the rule screen (S12) -----------------------------------------------------------------------


def rule_post(prefix_values):
    data = {}
    for kind in ("print", "email"):
        values = {
            "subject_template": "{{ document.number }}",
            "folder_mode": "none",
            "follower_mode": "acting",
            "status": "done",
            "due_in_days": "0",
            "folder_name_template": "",
            **prefix_values.get(kind, {}),
        }
        data.update({f"{kind}-{k}": v for k, v in values.items()})
    return data


def test_the_rule_screen_saves_both_tabs_and_shows_errors_on_their_tab(sales):  # noqa: F811
    layout = Layout.objects.get(journal=sales["journals"]["VF"])
    client = logged_in(sales["manager"])
    journal_page = client.get(f"/sales/settings/journals/{layout.journal_id}/").content.decode()
    assert f"/sales/settings/layouts/{layout.pk}/linked-actions/" in journal_page
    page = client.get(f"/sales/settings/layouts/{layout.pk}/linked-actions/").content.decode()
    assert 'id="tab-print"' in page and 'id="tab-email"' in page and 'role="tabpanel"' in page
    bad = client.post(
        f"/sales/settings/layouts/{layout.pk}/linked-actions/",
        rule_post({"email": {"enabled": "on", "action_type": call_type().pk, "subject_template": "{{ nope }}"}}),
    )
    assert bad.status_code == 400 and "unknown field" in bad.content.decode()
    assert not rules.rules_of(layout)["email"].pk
    ok = client.post(
        f"/sales/settings/layouts/{layout.pk}/linked-actions/",
        rule_post(
            {
                "print": {"enabled": "on", "action_type": call_type().pk, "attach_pdf": "on"},
                "email": {"enabled": "", "status": "todo", "due_in_days": "8"},
            }
        ),
    )
    assert ok.status_code == 302
    saved = rules.rules_of(layout)
    assert saved["print"].enabled and saved["print"].attach_pdf
    assert not saved["email"].enabled and saved["email"].due_in_days == 8
    refused = logged_in(sales["seller"]).post(f"/sales/settings/layouts/{layout.pk}/linked-actions/", rule_post({}))
    assert refused.status_code == 403


def test_a_user_who_may_not_change_the_rules_reads_them_disabled_without_a_save_button(sales):  # noqa: F811
    layout = Layout.objects.get(journal=sales["journals"]["VF"])
    for user in (sales["seller"], sales["reader"]):
        page = logged_in(user).get(f"/sales/settings/layouts/{layout.pk}/linked-actions/").content.decode()
        controls = re.findall(r"<(?:input|select|textarea)\b[^>]*>", page)
        editable = [c for c in controls if "disabled" not in c and 'type="hidden"' not in c]
        assert len(controls) > 30 and editable == [], editable[:3]
        assert 'class="primary"' not in page
    manager_page = logged_in(sales["manager"]).get(f"/sales/settings/layouts/{layout.pk}/linked-actions/")
    assert 'class="primary"' in manager_page.content.decode() and " disabled" not in manager_page.content.decode()


def test_the_rule_screen_reopens_on_the_tab_that_was_open(sales):  # noqa: F811
    layout = Layout.objects.get(journal=sales["journals"]["VF"])
    client = logged_in(sales["manager"])
    url = f"/sales/settings/layouts/{layout.pk}/linked-actions/"
    saved = client.post(url, {**rule_post({}), "tab": "email"})
    assert saved.status_code == 302 and saved["Location"].endswith("?tab=email")
    page = client.get(saved["Location"]).content.decode()
    assert re.search(r'id="tab-email"[^>]*aria-selected="true"', page)
    assert re.search(r'id="panel-print"[^>]*hidden', page) and not re.search(r'id="panel-email"[^>]*hidden', page)


# --- S16, S17: the linked document ---------------------------------------------------------------


def action_form(world, **extra):
    return {
        "subject": "Phone call",
        "action_type": call_type().pk,
        "priority": 2,
        "status": "todo",
        "followed_by": world["seller"].pk,
        "party": world["party"].pk,
        **extra,
    }


@pytest.mark.parametrize("layout", ["classic", "tabs"])
def test_the_action_form_links_a_document_and_the_document_lists_it(sales, layout):  # noqa: F811
    CompanySettings.objects.filter(pk=1).update(action_form_layout=layout)
    invoice = validated(sales)
    client = logged_in(sales["seller"])
    form = client.get("/crm/actions/new/").content.decode()
    assert "Linked doc." in form and 'name="linked_document"' in form
    found = client.get("/crm/actions/documents/", {"number": "2025/0"}).content.decode()
    assert f'data-id="{invoice.pk}"' in found
    assert f'data-id="{invoice.pk}"' in client.get("/crm/actions/documents/", {"party_name": "dupont"}).content.decode()
    assert (
        f'data-id="{invoice.pk}"' not in client.get("/crm/actions/documents/", {"date": "2020-01-01"}).content.decode()
    )
    response = client.post("/crm/actions/new/", action_form(sales, linked_document=invoice.pk))
    assert response.status_code == 302
    action = Action.objects.get()
    assert links.linked_document(sales["seller"], action) == invoice
    assert DocumentAction.objects.get().event is None  # linked by hand
    edit = client.get(f"/crm/actions/{action.pk}/").content.decode()
    assert invoice.number in edit
    page = client.get(f"/sales/documents/{invoice.pk}/").content.decode()
    assert f'data-linked-action="{action.pk}"' in page and "linked by hand" in page
    cleared = client.post(
        f"/crm/actions/{action.pk}/", action_form(sales, version=action.version, linked_document_clear="1")
    )
    assert cleared.status_code == 302 and not DocumentAction.objects.exists()


def test_a_private_linked_action_is_listed_only_for_who_may_see_it_and_a_bad_document_is_a_message(sales):  # noqa: F811
    invoice = validated(sales)
    secret = factories.action(sales["seller"], subject="Secret", party=sales["party"], private=True)
    links.set_linked_document(acting_user=sales["seller"], action=secret, document=invoice)
    assert links.linked_actions(sales["seller"], invoice) == [secret]
    assert links.linked_actions(sales["reader"], invoice) == []
    page = logged_in(sales["reader"]).get(f"/sales/documents/{invoice.pk}/").content.decode()
    assert "Secret" not in page
    client = logged_in(sales["seller"])
    for bad in ("999999", "99999999999999999999", "x"):
        response = client.post("/crm/actions/new/", action_form(sales, linked_document=bad))
        assert response.status_code == 400 and "does not exist" in response.content.decode()
    assert Action.objects.count() == 1
    for query in ("number=%ED%A0%80", "journal=99999999999999999999", "date=0001-01-01", "date=x", "party_name=%00"):
        assert client.get(f"/crm/actions/documents/?{query}").status_code == 200


# --- API (point 9) -------------------------------------------------------------------------------


def test_the_api_reads_and_writes_rules_and_lists_a_documents_linked_actions(sales):  # noqa: F811
    from rest_framework.test import APIClient

    layout = Layout.objects.get(journal=sales["journals"]["VF"])
    manager, seller = APIClient(), APIClient()
    manager.force_authenticate(sales["manager"])
    seller.force_authenticate(sales["seller"])
    created = manager.post(
        "/api/v1/linked-action-rules/",
        {
            "layout": layout.pk,
            "event_kind": "print",
            "enabled": True,
            "action_type": call_type().pk,
            "subject_template": "Printed {{ document.number }}",
            "status": "todo",
            "due_in_days": 3,
            "attach_pdf": False,
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    again = manager.post("/api/v1/linked-action-rules/", {"layout": layout.pk, "event_kind": "print"}, format="json")
    assert again.status_code == 400 and "unique" in str(again.json()["errors"])
    bad = manager.patch(
        f"/api/v1/linked-action-rules/{pk}/", {"subject_template": "{{ x.y }}", "version": 1}, format="json"
    )
    assert bad.status_code == 400 and "Line 1" in bad.json()["errors"]["subject_template"]
    assert manager.patch(f"/api/v1/linked-action-rules/{pk}/", {"due_in_days": 4}, format="json").status_code == 428
    assert seller.patch(f"/api/v1/linked-action-rules/{pk}/", {"version": 1}, format="json").status_code == 403
    assert [r["id"] for r in seller.get(f"/api/v1/linked-action-rules/?layout={layout.pk}").json()["results"]] == [pk]
    invoice = validated(sales)
    pdf = seller.get(f"/api/v1/documents/{invoice.pk}/pdf/", HTTP_IDEMPOTENCY_KEY="api-1")
    seller.get(f"/api/v1/documents/{invoice.pk}/pdf/", HTTP_IDEMPOTENCY_KEY="api-1")
    assert pdf.status_code == 200 and Action.objects.count() == 1
    listed = seller.get(f"/api/v1/documents/{invoice.pk}/linked-actions/").json()
    assert [a["subject"] for a in listed] == ["Printed 2025/00001"] and listed[0]["generated_by"]["kind"] == "print"
    manual = factories.action(sales["seller"], subject="Visit", party=sales["party"])
    linked = seller.post(f"/api/v1/documents/{invoice.pk}/linked-actions/", {"action": manual.pk}, format="json")
    assert linked.status_code == 201
    assert {a["subject"] for a in seller.get(f"/api/v1/documents/{invoice.pk}/linked-actions/").json()} == {
        "Printed 2025/00001",
        "Visit",
    }
    for bad_id in ("99999999999999999999", "0"):
        assert seller.get(f"/api/v1/documents/{bad_id}/linked-actions/").status_code == 404
        assert seller.get(f"/api/v1/linked-action-rules/{bad_id}/").status_code == 404
    assert seller.get("/api/v1/linked-action-rules/?layout=99999999999999999999").status_code == 200
    assert (
        seller.post(
            f"/api/v1/documents/{invoice.pk}/linked-actions/", {"action": 99999999999999999999}, format="json"
        ).status_code
        == 400
    )


@pytest.mark.parametrize(
    "field, value",
    [
        ("due_in_days", "-1"),
        ("due_in_days", "99999999999999999999"),
        ("action_type", "99999999999999999999"),
        ("follower", "-5"),
        ("folder", "abc"),
        ("folder_mode", "elsewhere"),
        ("subject_template", "{{ ''.__class__.__mro__ }}"),
        ("subject_template", "{% for i in range(10**9) %}x{% endfor %}"),
        ("version", "99999999999999999999"),
    ],
)
def test_bad_values_on_the_rule_screen_are_a_message_never_a_500(sales, field, value):  # noqa: F811
    layout = Layout.objects.get(journal=sales["journals"]["VF"])
    client = logged_in(sales["manager"])
    client.raise_request_exception = False
    data = rule_post({"print": {"enabled": "on", "action_type": call_type().pk, field: value}})
    response = client.post(f"/sales/settings/layouts/{layout.pk}/linked-actions/", data)
    assert response.status_code in (302, 400, 409, 428), response.content[:300]
    if field != "version":
        assert response.status_code == 400
    assert client.get("/sales/settings/layouts/99999999999999999999/linked-actions/").status_code == 404


def test_a_rule_that_fails_after_storing_the_pdf_leaves_no_action_and_no_file(sales, monkeypatch):  # noqa: F811
    from django.core.files.storage import storages

    from suivi.activities import attachments as attachment_services
    from suivi.core import audit
    from suivi.core.errors import SuiviError

    invoice, layout = invoice_and_layout(sales)
    rule(sales, attach_pdf=True)
    record = audit.record

    def failing(actor, verb, obj, changes=None):
        if verb == "attach":
            raise SuiviError("the audit failed")
        return record(actor, verb, obj, changes)

    monkeypatch.setattr(attachment_services.audit, "record", failing)
    event, _pdf = print_it(sales, invoice, layout)
    assert event.linked_action_run.outcome == "failed" and "the audit failed" in event.linked_action_run.detail
    assert not Action.objects.exists() and not Attachment.objects.exists()
    stored = [
        f
        for year in storages["attachments"].listdir("attachments")[0]
        for month in storages["attachments"].listdir(f"attachments/{year}")[0]
        for f in storages["attachments"].listdir(f"attachments/{year}/{month}")[1]
    ]
    assert stored == []


def test_the_demo_rules_check_and_ask_to_call_back_an_e_mailed_quote(sales, smtp):  # noqa: F811
    from suivi.activities.models import ActionType

    rules.load_demo_rules()
    rules.load_demo_rules()  # kept as they are
    assert LinkedActionRule.objects.count() == 3
    for stored in LinkedActionRule.objects.all():
        assert rules._check_rule(stored, stored.follower_id) == {}
    quote = validated(sales, journal="DV")
    layout = Layout.objects.get(journal=quote.journal)
    services.send_document(acting_user=sales["seller"], document=quote, layout=layout)
    action = Action.objects.get()
    assert action.subject == "Rappeler\u00a0: devis D2025-0001 · Brasserie Dupont"
    assert action.status == "todo" and action.action_type == ActionType.objects.get(name_en="Call")
