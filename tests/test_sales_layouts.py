"""Layouts are user templates: checked at save with the line of each problem, rendered in a
sandbox that reaches nothing outside the allow-list and stops within limits (RELIABILITY S18),
their output sanitised (issue 9, point 2)."""

import pytest
from django.utils import translation

from suivi.core.errors import InvalidInput
from suivi.sales import services
from suivi.sales.layouts import check_template, render_template
from suivi.sales.merge_fields import specimen
from suivi.sales.models import Layout
from suivi.sales.pdf import html_page
from suivi.sales.starter_layouts import starter

from .sales_world import sales  # noqa: F401  (fixture)


def problems(source, html=True):
    return [str(p) for p in check_template(source, html=html)]


@pytest.mark.parametrize("language", ["fr", "en", "nl"])
def test_starter_layouts_pass_their_own_checks(language):
    fields = starter(language)
    assert problems(fields["html_template"]) == []
    assert problems(fields["email_subject_template"], html=False) == []
    assert problems(fields["email_body_template"], html=False) == []


@pytest.mark.parametrize(
    "source, expected",
    [
        ("<p>\n{{ document.number }\n</p>", "Line 2: the template cannot be read"),
        ("<p>\n\n{% for l in lines %}{{ l.description }}", "Line 3: the template cannot be read"),
        ("<p>ok</p>\n{{ document.numero }}", "Line 2: unknown field “document.numero”"),
        ("a\nb\n{% if document.is_draft %}{{ secret_key }}{% endif %}", "Line 3: unknown field “secret_key”"),
        ("{% for l in lines %}\n{{ l.price }}\n{% endfor %}", "Line 2: unknown field “price”"),
        ("{{ ''.__class__.__mro__ }}", "not allowed in a template"),
        ("\n{{ document.__class__ }}", "Line 2:"),
        ("{{ lines.__class__.__init__.__globals__ }}", "not allowed in a template"),
        ("{{ range(10**9)|list }}", "not allowed in a template"),
        ("{{ 'x' * 100000000 }}", "not allowed in a template"),
        ("{{ 9 ** 99999999 }}", "not allowed in a template"),
        ("{{ '%999999999d' % 1 }}", "not allowed in a template"),
        ("{{ '{:>99999999}'.format(1) }}", "not allowed in a template"),
        ("{{ cycler }}{{ namespace() }}", "unknown field"),
        (
            "{% set s = range(9999)|list %}{% for a in s %}{% for b in s %}{% for c in s %}{% endfor %}"
            "{% endfor %}{% endfor %}",
            "more than 5 seconds",
        ),
        ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "calls itself too deeply"),
        ("{% for i in range(9999) %}{{ 'y' * 9999 }}{% endfor %}", "output is longer"),
    ],
)
def test_a_bad_template_is_refused_with_its_line_and_a_reason(source, expected):
    found = problems(source)
    assert found and expected in found[0], found


def test_template_messages_read_in_the_users_language():
    with translation.override("fr"):
        found = problems("<p>\n{{ document.numero }}</p>")
    assert found[0].startswith("Ligne 2\u00a0:") and "champ inconnu" in found[0]


def test_saving_a_layout_with_a_bad_template_saves_nothing_and_names_the_line(sales):  # noqa: F811
    layout = Layout.objects.get(journal__code="VF")
    with pytest.raises(InvalidInput) as refused:
        services.save_layout(
            acting_user=sales["manager"],
            instance=layout,
            values={"html_template": "<h1>{{ document.number }}</h1>\n{{ party.iban }}"},
            expected_version=layout.version,
        )
    assert "Line 2: unknown field “party.iban”" in refused.value.errors["html_template"]
    layout.refresh_from_db()
    assert layout.html_template == starter("fr")["html_template"] and layout.version == 1


def test_script_and_style_attributes_never_reach_the_printed_document(sales):  # noqa: F811
    layout = Layout(
        journal=sales["journals"]["VF"],
        language="fr",
        html_template=(
            '<script>alert(1)</script><p onclick="x()" style="color:red" class="keep">{{ party.name }}</p>'
            '<img src="http://169.254.169.254/latest" alt="x"><a href="javascript:alert(1)">a</a>'
        ),
    )
    context = specimen()
    context["party"]["name"] = "<script>alert('party')</script>"
    page = html_page(layout, context)
    assert "<script" not in page and "onclick" not in page and "style=" not in page and "javascript:" not in page
    assert 'class="keep"' in page and "&lt;script&gt;alert" in page


def test_the_email_subject_is_one_line_whatever_the_data():
    context = specimen()
    context["party"]["name"] = "Evil\r\nBcc: victim@example.com"
    subject = render_template("Offre {{ party.name }}", context, html=False, language="fr")
    assert "\r\n" in subject  # the raw text; render_subject makes it one line
    from suivi.sales.layouts import render_subject

    layout = Layout(language="fr", email_subject_template="Offre {{ party.name }}")
    assert render_subject(layout, context) == "Offre Evil Bcc: victim@example.com"


def test_only_one_default_layout_per_journal(sales):  # noqa: F811
    journal = sales["journals"]["VF"]
    second = services.save_layout(
        acting_user=sales["manager"],
        instance=None,
        values={"journal": journal, "name": "English", "language": "en", "is_default": True, **starter("en")},
    )
    assert list(Layout.objects.filter(journal=journal, is_default=True)) == [second]
