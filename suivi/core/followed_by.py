"""S9: the expression over users that decides who the *Followed by* drop-down offers.

The allow-list below is every user field an expression may name; the user model is the
configured one (``accounts.User``), reached through Django's auth API so that core stays below
the accounts app.
"""

from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import QuerySet

from .expressions import ExpressionSchema, filter_by_expression, validate_expression

USER_FIELDS = [
    "username",
    "first_name",
    "last_name",
    "email",
    "is_active",
    "role",
    "groups",
    "date_joined",
    "last_login",
]


@cache
def users_schema() -> type[ExpressionSchema]:
    user = get_user_model()
    return type(
        "UsersSchema",
        (ExpressionSchema,),
        {"include": (user, Group), "fields": {user: USER_FIELDS, Group: ["name"]}},
    )


def validate_followed_by_expression(text: str) -> None:
    """Raise ExpressionError if ``text`` is not a valid users expression."""
    validate_expression(text, get_user_model(), users_schema())


def users_selected_by(text: str) -> QuerySet:
    """The users ``text`` selects, as a database query; an empty text selects every active user."""
    users = get_user_model().objects.all()
    if not (text or "").strip():
        return users.filter(is_active=True)
    return filter_by_expression(users, text, users_schema())
