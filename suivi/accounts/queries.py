"""Permission-checked reads of users and preferences."""

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from suivi.core.errors import PermissionDenied
from suivi.core.followed_by import users_selected_by
from suivi.core.models import CompanySettings, SendingMethod
from suivi.lib.ids import parse_id

from .models import DevicePreference, User


def visible_users(viewer: User) -> QuerySet[User]:
    return User.objects.all().order_by("first_name", "last_name", "username")


def users_for_administration(viewer: User) -> QuerySet[User]:
    """Every user with their groups, for the *Users* screen of administrators."""
    if not (viewer and viewer.is_authenticated and viewer.is_administrator):
        raise PermissionDenied(_("Only administrators may manage users."))
    return User.objects.prefetch_related("groups").order_by("first_name", "last_name", "username")


def access_user(viewer: User, user_id) -> User:
    """The user ``user_id`` for an administrator to manage; 403 for others, 404 if unknown."""
    if not (viewer and viewer.is_authenticated and viewer.is_administrator):
        raise PermissionDenied(_("Only administrators may manage users."))
    if (pk := parse_id(user_id)) is None:
        raise Http404
    try:
        return User.objects.prefetch_related("groups").get(pk=pk)
    except User.DoesNotExist as e:
        raise Http404 from e


def followed_by_choices(settings_obj: CompanySettings, *, keep: User | None = None) -> QuerySet:
    """Users the *Followed by* list offers (S9), plus ``keep`` (the current value) if outside it."""
    users = users_selected_by(settings_obj.followed_by_expression)
    if keep is not None:
        users = User.objects.filter(pk__in=users.values("pk")) | User.objects.filter(pk=keep.pk)
    return users.order_by("first_name", "last_name", "username")


def device_preference(user: User, device_id: str) -> DevicePreference | None:
    return DevicePreference.objects.filter(user=user, device_id=device_id).first()


def effective_sending_method(settings_obj: CompanySettings, user: User) -> str:
    """S7: the user's override, else the company default."""
    return user.sending_method or settings_obj.default_sending_method or SendingMethod.SEND
