"""Generated bad input (RELIABILITY S17), beside the Schemathesis run of test_api_fuzz: huge and
negative ids, year-1 and year-9999 dates, lone surrogates, NUL, long strings, deeply nested or odd
expressions and random text, thrown at every query parameter of every list page and API list
route and at the main form posts, as a signed-in user. No answer may be a 5xx.

Values travel as a real client sends them: a lone surrogate in a URL or a form body is the bytes
``surrogatepass`` gives (the server reads them as U+FFFD); in JSON it is the ``\\ud800`` escape,
which reaches the application as is.
"""

import json
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from suivi.activities.models import Stage
from suivi.core.models import CompanySettings
from suivi.parties.models import Category

from . import factories
from .conftest import logged_in

SPECIAL = [
    "",
    "0",
    "-1",
    "99999999999999999999",
    "-9223372036854775809",
    str(2**63),
    str(2**64),
    "1e400",
    "NaN",
    "٣",
    "²",
    "0001-01-01",
    "0001-01-01T00:00",
    "9999-12-31",
    "9999-12-31T23:59:59-05:00",
    "\ud800",
    "a\udfffb",
    "\x00",
    "a" * 3000,
    "(" * 40 + 'subject ~ "a"' + ")" * 40,
    'subject ~ "a" and (' * 30 + 'subject ~ "b"' + ")" * 30,
    "".join(f'subject ~ "{i}" {"and" if i % 2 else "or"} (' for i in range(30)) + 'status = "todo"' + ")" * 30,
    'due_date = ""',
    'start > "0001-01-01"',
    'subject ~ "\\ud800"',
    'subject = "\\u0000"',
    "party = 99999999999999999999",
    "party.name ~ ",
    "eyJ4IjogMX0",  # a base64 cursor holding the wrong shape
    "WyIwMDAxLTAxLTAxVDAwOjAwIiwgNV0",  # ["0001-01-01T00:00", 5]
]

values = st.one_of(
    st.sampled_from(SPECIAL),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(max_size=40),
    st.lists(st.sampled_from(SPECIAL), max_size=3).map("".join),
)

# Every list page and API list route, with every query parameter it reads.
LIST_ROUTES = {
    "/parties/": ["q", "kind", "category", "archived", "city", "sort", "page"],
    "/parties/typeahead/": ["q"],
    "/parties/export.csv": ["q", "kind", "category", "archived", "city", "sort"],
    "/contacts/": ["q", "archived", "party", "page"],
    "/crm/actions/": ["followed_by", "action_type", "status", "party", "folder", "from", "to", "query", "after"],
    "/crm/actions/new/": ["party"],
    "/crm/actions/party-fields/": ["party", "folder"],
    "/crm/folders/": ["party", "q", "page", "back"],
    "/crm/folders/new/": ["party"],
    "/crm/pipeline/": ["followed_by"],
    "/api/v1/parties/": [
        "q",
        "city",
        "categories",
        "is_customer",
        "is_supplier",
        "is_prospect",
        "archived",
        "country",
        "code",
        "vat_number",
        "ordering",
        "page",
    ],
    "/api/v1/contacts/": ["q", "party", "archived", "language", "ordering", "page"],
    "/api/v1/users/": ["role", "is_active", "ordering", "page"],
    "/api/v1/actions/": ["followed_by", "action_type", "status", "party", "folder", "from", "to", "query", "page"],
    "/api/v1/folders/": ["party", "is_opportunity", "status", "stage", "ordering", "page"],
}

# The main form posts (page and API), with the fields they read.
FORM_POSTS = {
    "/parties/new/": ["name", "code", "is_customer", "vat_number", "email", "country", "categories", "sales_rep"],
    "/contacts/new/": ["first_name", "last_name", "email", "phone", "language", "party"],
    "/crm/actions/new/": [
        "party",
        "subject",
        "action_type",
        "folder",
        "contacts",
        "start",
        "end",
        "due_date",
        "duration_minutes",
        "status",
        "priority",
        "followed_by",
        "unit_price",
    ],
    "/crm/folders/new/": ["party", "name", "followed_by", "is_opportunity", "budget", "probability", "stage"],
    "/crm/actions/bulk/": ["ids", "do", "followed_by", "next"],
    "/api/v1/parties/": ["name", "code", "vat_number", "email", "country", "categories", "sales_rep", "version"],
    "/api/v1/contacts/": ["first_name", "last_name", "email", "phone", "party", "function"],
    "/api/v1/actions/": [
        "subject",
        "action_type",
        "party",
        "contacts",
        "folder",
        "start",
        "end",
        "due_date",
        "followed_by",
    ],
    "/api/v1/folders/": ["name", "party", "followed_by", "stage", "budget", "probability", "expected_close"],
}

FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)


def wire(value: str) -> str:
    """``value`` percent-encoded as a browser would send it (surrogates as their raw bytes)."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


@pytest.fixture
def client(admin_user):
    CompanySettings.objects.filter(pk=1).update(crm_enabled=True, opportunities_enabled=True)
    party = factories.party(admin_user, name="Fuzz target")
    factories.action(admin_user, party=party)
    factories.folder(admin_user, party=party)
    Category.objects.get_or_create(name="Key")
    Stage.objects.first() or Stage.objects.create(name="Lead")
    return logged_in(admin_user)


def no_server_error(response, what):
    assert response.status_code < 500, (what, response.status_code, response.content[:300])


@pytest.mark.parametrize("path", list(LIST_ROUTES))
def test_generated_query_parameters_never_get_a_server_error(client, path):
    @FUZZ
    @given(st.dictionaries(st.sampled_from(LIST_ROUTES[path]), values, min_size=1, max_size=4))
    def run(params):
        query = "&".join(f"{name}={wire(value)}" for name, value in params.items())
        no_server_error(client.get(f"{path}?{query}"), params)

    run()


@pytest.mark.parametrize("path", list(FORM_POSTS))
def test_generated_form_posts_never_get_a_server_error(client, path):
    fields = FORM_POSTS[path]
    scalars = st.one_of(values, st.integers(min_value=-(2**70), max_value=2**70), st.booleans(), st.none())
    nested = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=6)

    @FUZZ
    @given(st.dictionaries(st.sampled_from(fields), nested, min_size=1, max_size=5))
    def run(data):
        if path.startswith("/api/"):
            body = json.dumps(data)  # ensure_ascii: a lone surrogate travels as its \\u escape
            response = client.post(path, body, content_type="application/json")
        else:
            pairs = []
            for name, value in data.items():
                for item in value if isinstance(value, list) else [value]:
                    pairs.append(f"{name}={wire('' if item is None else str(item))}")
            response = client.post(path, "&".join(pairs), content_type="application/x-www-form-urlencoded")
        no_server_error(response, data)

    run()
