"""S1 / S2 gates: with the CRM off every CRM page and menu is gone; nothing is deleted."""

from suivi.core.models import CompanySettings
from suivi.parties.models import Party

from . import factories


def set_options(**values):
    CompanySettings.objects.filter(pk=1).update(**values)


def test_with_the_crm_off_crm_pages_answer_404_with_the_reason(user_client):
    set_options(crm_enabled=False)
    response = user_client.get("/crm/")
    assert response.status_code == 404
    assert "The CRM option is off" in response.content.decode()


def test_with_the_crm_off_the_crm_menu_is_gone_and_data_is_kept(user_client, plain_user):
    factories.party(plain_user, name="Kept SA")
    assert 'data-menu="crm"' in user_client.get("/").content.decode()
    set_options(crm_enabled=False)
    assert 'data-menu="crm"' not in user_client.get("/").content.decode()
    assert Party.objects.filter(name="Kept SA").exists()
    set_options(crm_enabled=True)
    assert user_client.get("/crm/").status_code == 200


def test_m2_features_are_refused_at_level_m1(rf, plain_user):
    from django.http import HttpResponse
    from django.urls import path

    from suivi.core.gates import refusal
    from suivi.core.models import CrmLevel
    from suivi.web.gating import gated

    def agenda(request):
        return HttpResponse("agenda")

    (pattern,) = gated([path("agenda/", agenda)], lambda settings_obj: refusal(settings_obj, CrmLevel.FULL))
    request = rf.get("/agenda/")
    request.user = plain_user
    set_options(crm_level="basic")
    response = pattern.callback(request)
    assert response.status_code == 404 and b"CRM level M2" in response.content
    set_options(crm_level="full")
    request = rf.get("/agenda/")
    request.user = plain_user
    assert pattern.callback(request).status_code == 200
