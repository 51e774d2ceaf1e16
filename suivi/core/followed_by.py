"""S9: the expression over users that decides who the *Followed by* drop-down offers.

The allow-list below is every user field an expression may name; the user model is the
configured one (``accounts.User``), reached through Django's auth API so that core stays below
the accounts app.
"""

import logging
from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from .expressions import ExpressionError, ExpressionSchema, filter_by_expression, validate_expression

logger = logging.getLogger(__name__)

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
    """Raise ExpressionError if ``text`` is not a valid users expression, or fails when run.

    It is run once (inside a savepoint): an expression that validates but fails in the database
    would otherwise break every page offering *Followed by*, for everyone.
    """
    validate_expression(text, get_user_model(), users_schema())
    try:
        with transaction.atomic():
            users_selected_by(text, fall_back=False).exists()
    except ExpressionError:
        raise
    except (DatabaseError, ValidationError, ValueError, TypeError, OverflowError, RecursionError) as e:
        raise ExpressionError(
            _("The expression is valid but fails when run: %(reason)s") % {"reason": str(e) or e.__class__.__name__}
        ) from e


def users_selected_by(text: str, *, fall_back: bool = True) -> QuerySet:
    """The users ``text`` selects, as a database query; an empty text selects every active user.

    A stored expression that no longer compiles (saved before a check existed, or a schema that
    changed) selects every active user, with a warning in the log: never a broken page.
    """
    users = get_user_model().objects.all()
    if not (text or "").strip():
        return users.filter(is_active=True)
    try:
        return filter_by_expression(users, text, users_schema())
    except ExpressionError as e:
        if not fall_back:
            raise
        logger.warning("The Followed by expression fails (%s); every active user is offered instead.", e)
        return users.filter(is_active=True)
