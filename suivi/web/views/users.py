"""*Users* (a tab of Company settings): administrators create, invite, change, deactivate users and
reset their passwords. Each change goes through ``accounts.services``; everyone else gets 403."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from suivi.accounts import services as account_services
from suivi.accounts.models import Role, User
from suivi.accounts.queries import access_user, users_for_administration
from suivi.core.errors import PermissionDenied, SuiviError

from ..forms import NewUserForm, SetPasswordForm, UserForm
from ..outcomes import after_command, show_on_form, status_of
from .settings import TABS


def _refused(request, error: SuiviError):
    return render(
        request,
        "web/refused.html",
        {"message": error.message, "forbidden": status_of(error) == 403},
        status=status_of(error),
    )


def _context(**values):
    return {"tab": "users", "tabs": [(k, v[0]) for k, v in TABS.items()], **values}


def _base_url(request) -> str:
    return request.build_absolute_uri("/")


@login_required
def user_list(request):
    try:
        users = users_for_administration(request.user)
    except PermissionDenied as e:
        return _refused(request, e)
    return render(request, "web/users/list.html", _context(users=users))


@login_required
def user_create(request):
    try:
        users_for_administration(request.user)
    except PermissionDenied as e:
        return _refused(request, e)
    form = NewUserForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            values = {
                "username": data["username"],
                "first_name": data["first_name"],
                "last_name": data["last_name"],
                "role": data["role"],
                "groups": data["groups"],
            }
            try:
                if data["how"] == "invite":
                    user = account_services.invite_user(
                        acting_user=request.user, email=data["email"], base_url=_base_url(request), **values
                    )
                    messages.success(request, _("%(user)s was invited by e-mail.") % {"user": user})
                else:
                    user = account_services.create_user(
                        acting_user=request.user, password=data["password1"], email=data["email"], **values
                    )
                    messages.success(request, _("%(user)s was created.") % {"user": user})
            except SuiviError as e:
                status = show_on_form(form, e)
            else:
                return redirect("user_list")
        else:
            status = 400
    return render(request, "web/users/new.html", _context(form=form), status=status)


@login_required
def user_edit(request, pk):
    try:
        user = access_user(request.user, pk)
    except PermissionDenied as e:
        return _refused(request, e)
    form = UserForm(request.POST or None, instance=user, initial={"version": user.version})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                account_services.update_user(
                    acting_user=request.user,
                    user_id=user.pk,
                    expected_version=request.POST.get("version"),
                    role=data["role"],
                    groups=data["groups"],
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    email=data["email"],
                )
            except SuiviError as e:
                status = show_on_form(form, e)
            else:
                messages.success(request, _("%(user)s was saved.") % {"user": user})
                if user.pk == request.user.pk and data["role"] != Role.ADMINISTRATOR:
                    return redirect("home")  # they stepped down: the Users screen is no longer theirs
                return redirect("user_list")
        else:
            status = 400
    user.refresh_from_db()
    return render(
        request,
        "web/users/edit.html",
        _context(form=form, subject=user, password_form=SetPasswordForm(user), is_self=user.pk == request.user.pk),
        status=status,
    )


@require_POST
@login_required
def user_active(request, pk):
    try:
        user = access_user(request.user, pk)
    except PermissionDenied as e:
        return _refused(request, e)
    active = request.POST.get("active") == "1"
    error = None
    try:
        account_services.set_active(acting_user=request.user, user=user, active=active)
    except SuiviError as e:
        error = e
    else:
        if active:
            messages.success(request, _("%(user)s was reactivated.") % {"user": user})
        else:
            messages.success(
                request,
                _("%(user)s was deactivated: their sessions ended and their API tokens were revoked.") % {"user": user},
            )
    return after_command(request, error, reverse("user_list"))


@require_POST
@login_required
def user_password(request, pk):
    """Set a user's password, or e-mail them a link to set it themselves."""
    try:
        user = access_user(request.user, pk)
    except PermissionDenied as e:
        return _refused(request, e)
    back = reverse("user_edit", kwargs={"pk": user.pk})
    if request.POST.get("send_link"):
        try:
            account_services.send_password_link(acting_user=request.user, user=user, base_url=_base_url(request))
        except SuiviError as e:
            return after_command(request, e, back)
        messages.success(request, _("A link to set a password was sent to %(email)s.") % {"email": user.email})
        return redirect(back)
    form = SetPasswordForm(user, request.POST)
    if not form.is_valid():
        return render(
            request,
            "web/users/edit.html",
            _context(
                form=UserForm(instance=user, initial={"version": user.version}),
                subject=user,
                password_form=form,
                is_self=user.pk == request.user.pk,
            ),
            status=400,
        )
    try:
        account_services.change_password(
            acting_user=request.user, user=user, new_password=form.cleaned_data["password1"], request=request
        )
    except SuiviError as e:
        return after_command(request, e, back)
    messages.success(
        request,
        _("The password of %(user)s was changed; their sessions ended and API tokens were revoked.") % {"user": user},
    )
    return redirect(back)


class SetPasswordView(auth_views.PasswordResetConfirmView):
    """The page of the one-time link (invitation or reset): Django checks the token (it expires
    after PASSWORD_RESET_TIMEOUT and dies once the password changes); the service saves."""

    form_class = SetPasswordForm
    template_name = "registration/set_password.html"
    success_url = reverse_lazy("login")
    post_reset_login = False

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        return user if user is not None and user.is_active else None

    def form_valid(self, form):
        user: User = self.user
        account_services.change_password(acting_user=user, user=user, new_password=form.cleaned_data["password1"])
        del self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN]
        messages.success(self.request, _("Your password is set: log in with it."))
        return redirect(self.success_url)
