"""The home page starts the day: my open actions of today and before (overdue first), my
opportunities closing this month, the parties I worked on last — each a link, in few queries."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from suivi.core.models import CompanySettings

from . import factories
from .conftest import make_user


def at(day, hour=9):
    return timezone.make_aware(datetime.combine(day, datetime.min.time()).replace(hour=hour))


def test_my_actions_of_today_and_before_come_overdue_first(user_client, plain_user):
    today = timezone.localdate()
    other = make_user("otto")
    late = factories.action(plain_user, subject="Late call", start=at(today - timedelta(days=3)))
    factories.action(plain_user, subject="Today's meeting", start=at(today, 15))
    factories.action(plain_user, subject="Tomorrow's visit", start=at(today + timedelta(days=1)))
    factories.action(plain_user, subject="Due today", due_date=today)
    factories.action(other, subject="Otto's call", start=at(today))
    done = factories.action(plain_user, subject="Done already", start=at(today))
    done.status = "done"
    done.save()
    page = user_client.get("/").content.decode()
    today_block = page.split("data-today")[1].split("</section>")[0]
    assert today_block.index("Late call") < today_block.index("Due today") < today_block.index("Today&#x27;s meeting")
    assert today_block.count("tag late") == 1
    assert "Tomorrow's visit" not in today_block and "Otto's call" not in today_block
    assert "Done already" not in today_block
    assert f'href="/crm/actions/{late.pk}/"' in today_block and "overdue" in today_block


def test_my_opportunities_closing_this_month_show_with_opportunity_management_on(user_client, plain_user):
    today = timezone.localdate()
    CompanySettings.objects.filter(pk=1).update(opportunities_enabled=True)
    factories.folder(
        plain_user,
        name="Closing deal",
        is_opportunity=True,
        expected_close=today,
        budget=Decimal("1234.5"),
        followed_by=plain_user,
    )
    factories.folder(
        plain_user,
        name="Next year deal",
        is_opportunity=True,
        expected_close=today + timedelta(days=400),
        followed_by=plain_user,
    )
    page = user_client.get("/").content.decode()
    closing = page.split("data-closing")[1].split("</section>")[0]
    assert "Closing deal" in closing and "1,234.50 EUR" in closing and "Next year deal" not in closing
    CompanySettings.objects.filter(pk=1).update(opportunities_enabled=False)
    assert "data-closing" not in user_client.get("/").content.decode()


def test_the_parties_i_worked_on_last_come_newest_first(user_client, plain_user):
    other = make_user("otto")
    first = factories.party(plain_user, name="First touched")
    second = factories.party(plain_user, name="Then this one")
    factories.party(other, name="Someone else's")
    factories.action(plain_user, subject="About the first", party=first)
    page = user_client.get("/").content.decode()
    touched = page.split("data-touched")[1].split("</section>")[0]
    assert touched.index("First touched") < touched.index("Then this one")
    assert "Someone else" not in touched and f'href="/parties/{second.pk}/"' in touched


def test_the_home_page_needs_at_most_8_queries(user_client, plain_user):
    CompanySettings.objects.filter(pk=1).update(opportunities_enabled=True)
    party = factories.party(plain_user)
    for i in range(20):
        factories.action(plain_user, subject=f"Call {i}", party=party, start=at(timezone.localdate()))
    factories.folder(
        plain_user,
        name="Deal",
        is_opportunity=True,
        expected_close=timezone.localdate(),
        followed_by=plain_user,
        party=party,
    )
    with CaptureQueriesContext(connection) as queries:
        assert user_client.get("/").status_code == 200
    assert len(queries) <= 8, [q["sql"][:120] for q in queries]
