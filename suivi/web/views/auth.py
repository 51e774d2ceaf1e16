from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from suivi.accounts import services as account_services


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)  # rotates the session id
        self.request.session["suivi_language"] = form.get_user().language
        return response


@login_required
def password_change(request):
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        account_services.change_password(
            acting_user=request.user,
            user=request.user,
            new_password=form.cleaned_data["new_password1"],
            request=request,
        )
        messages.success(
            request, _("Your password was changed. Your other sessions were ended and your API tokens revoked.")
        )
        return redirect("preferences")
    return render(request, "registration/password_change.html", {"form": form})
