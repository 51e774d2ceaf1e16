"""The fast formatting filters of long pages write exactly what Django's own filters write, in
each language."""

from datetime import date
from decimal import Decimal

import pytest
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import floatformat
from django.utils import translation

from suivi.web.templatetags.suivi_format import amount, short_date, with_pk


@pytest.mark.parametrize("language", ["fr", "nl", "en"])
def test_amounts_and_dates_read_as_django_writes_them(language):
    with translation.override(language):
        for value in (Decimal("37700"), Decimal("1234567.891"), Decimal("-5.5"), 0, Decimal("999.995"), "12.5"):
            assert amount(value) == floatformat(value, "2g"), value
        assert short_date(date(2027, 1, 15)) == date_filter(date(2027, 1, 15), "SHORT_DATE_FORMAT")
    assert amount(None) == amount("") == amount("abc") == ""


def test_french_amounts_group_thousands():
    with translation.override("fr"):
        assert amount(Decimal("433600")) == "433\xa0600,00"  # a no-break space, as Django's French


def test_a_url_reversed_once_serves_every_row():
    assert with_pk("/crm/folders/0/update/", 42) == "/crm/folders/42/update/"
