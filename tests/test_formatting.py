"""The fast formatting filters of long pages write exactly what Django's own filters write, in
each language."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import floatformat
from django.utils import translation

from suivi.web.templatetags.suivi_format import amount, short_date, short_datetime, with_pk


@pytest.mark.parametrize("language", ["fr", "nl", "en"])
def test_amounts_and_dates_read_as_django_writes_them(language):
    with translation.override(language):
        for value in (Decimal("37700"), Decimal("1234567.891"), Decimal("-5.5"), 0, Decimal("999.995"), "12.5"):
            assert amount(value) == floatformat(value, "2g"), value
        assert short_date(date(2027, 1, 15)) == date_filter(date(2027, 1, 15), "SHORT_DATE_FORMAT")
        moment = datetime(2027, 1, 15, 9, 30)
        assert short_datetime(moment) == date_filter(moment, "SHORT_DATETIME_FORMAT")
    assert amount(None) == amount("") == amount("abc") == ""


def test_french_amounts_group_thousands():
    with translation.override("fr"):
        assert amount(Decimal("433600")) == "433\xa0600,00"  # a no-break space, as Django's French


def test_a_url_reversed_once_serves_every_row():
    assert with_pk("/crm/folders/0/update/", 42) == "/crm/folders/42/update/"


def test_a_moment_is_shown_in_the_current_time_zone_as_django_shows_it():
    from datetime import UTC

    from django.template import Context, Template
    from django.utils import timezone

    moment = datetime(2027, 1, 15, 23, 30, tzinfo=UTC)  # 00:30 the next day in Brussels
    template = Template('{% load suivi_format %}{{ v|short_datetime }}|{{ v|date:"SHORT_DATETIME_FORMAT" }}')
    with timezone.override("Europe/Brussels"), translation.override("fr"):
        mine, django = template.render(Context({"v": moment})).split("|")
    assert mine == django and "16/01/2027" in mine
