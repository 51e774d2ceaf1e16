from django.contrib.auth import views as auth_views
from django.urls import path

from .views import auth, contacts, imports, pages, parties, settings

urlpatterns = [
    path("", pages.home, name="home"),
    path("healthz", pages.healthz, name="healthz"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth.password_change, name="password_change"),
    path("preferences/", settings.preferences, name="preferences"),
    path("language/", settings.set_language, name="set_language"),
    path("settings/", settings.company_settings_page, name="company_settings_default"),
    path("settings/<slug:tab>/", settings.company_settings_page, name="company_settings"),
    path("crm/", pages.crm_home, name="crm_home"),
    path("parties/", parties.party_list_page, name="party_list"),
    path("parties/new/", parties.party_create, name="party_create"),
    path("parties/typeahead/", parties.party_typeahead_page, name="party_typeahead"),
    path("parties/export.<str:fmt>", parties.party_export, name="party_export"),
    path("parties/import/", imports.import_upload, name="party_import"),
    path("parties/import/<uuid:pk>/", imports.import_map, name="party_import_map"),
    path("parties/<int:pk>/", parties.party_detail, name="party_detail"),
    path("parties/<int:pk>/update/", parties.party_edit, name="party_edit"),
    path("parties/<int:pk>/archive/", parties.party_archive, name="party_archive"),
    path("parties/<int:pk>/addresses/", parties.party_add_address, name="party_add_address"),
    path("contacts/", contacts.contact_list_page, name="contact_list"),
    path("contacts/new/", contacts.contact_create, name="contact_create"),
    path("contacts/<int:pk>/", contacts.contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/update/", contacts.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/link/", contacts.contact_link, name="contact_link"),
    path("contacts/<int:pk>/unlink/<int:party_pk>/", contacts.contact_unlink,
         name="contact_unlink"),
]
