"""Permission-checked reads of users and preferences."""

from django.db.models import QuerySet

from suivi.core.followed_by import users_selected_by
from suivi.core.models import CompanySettings, SendingMethod

from .models import DevicePreference, User


def visible_users(viewer: User) -> QuerySet[User]:
    return User.objects.all().order_by("first_name", "last_name", "username")


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
