"""The expression language (S9): parsed, allow-listed, compiled to a database query."""

import pytest
from django.contrib.auth.models import Group
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from suivi.core.expressions import ExpressionError
from suivi.core.followed_by import users_selected_by, validate_followed_by_expression

from .conftest import make_user


@pytest.fixture
def team(db):
    sales, support = Group.objects.create(name="Sales"), Group.objects.create(name="Support")
    ann = make_user("ann")
    ann.groups.add(sales)
    bob = make_user("bob")
    bob.groups.add(support)
    cid = make_user("cid")
    gone = make_user("gone", is_active=False)
    gone.groups.add(sales)
    return {"ann": ann, "bob": bob, "cid": cid, "gone": gone}


def names(expression):
    return sorted(u.username for u in users_selected_by(expression))


def test_the_seed_example_selects_active_users_of_sales_and_support(team):
    assert names('is_active = True and groups.name in ("Sales", "Support")') == ["ann", "bob"]


def test_an_empty_expression_selects_every_active_user(team):
    assert names("") == ["ann", "bob", "cid"]


def test_the_result_is_a_database_query_without_duplicates(team):
    team["ann"].groups.add(Group.objects.get(name="Support"))
    users = users_selected_by('groups.name in ("Sales", "Support")')
    assert hasattr(users, "query")
    assert sorted(u.username for u in users) == ["ann", "bob", "gone"]


def test_fields_outside_the_allow_list_are_unknown(team):
    for expression in (
        'password ~ "a"',
        "is_superuser = True",
        'user_permissions.codename = "x"',
        'groups.permissions.codename = "x"',
    ):
        with pytest.raises(ExpressionError, match="Unknown field"):
            validate_followed_by_expression(expression)


tokens = st.sampled_from(
    list('abcdefgimnorstuv_.=!<>~()," 0123456789')
    + [
        " and ",
        " or ",
        " not ",
        " in ",
        "groups.name",
        "is_active",
        "username",
        "True",
        "None",
        '"Sales"',
        "date_joined",
        "2024-01-01",
    ]
)
text = st.lists(tokens, max_size=25).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(expression=text)
def test_any_typed_text_either_compiles_or_raises_an_expression_error(team, expression):
    try:
        list(users_selected_by(expression))
    except ExpressionError as e:
        assert e.message
