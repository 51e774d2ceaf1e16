from django.contrib.auth import views as auth_views
from django.urls import include, path

from .gating import crm_gate, gated, opportunities_gate
from .views import (
    actions,
    auth,
    contacts,
    documents,
    folders,
    imports,
    linked,
    pages,
    parties,
    sales_settings,
    settings,
    users,
)

# Every CRM page is declared here, behind login and the CRM gate (S1): a new one cannot forget it.
crm_patterns = [
    path("", pages.crm_home, name="crm_home"),
    path("actions/", actions.action_list_page, name="action_list"),
    path("actions/new/", actions.action_create, name="action_create"),
    path("actions/fields/", actions.action_fields, name="action_fields"),
    path("actions/party-fields/", actions.action_party_fields, name="action_party_fields"),
    path("actions/bulk/", actions.action_bulk, name="action_bulk"),
    path("actions/<int:pk>/", actions.action_detail, name="action_detail"),
    path("actions/<int:pk>/status/", actions.action_status, name="action_status"),
    path("actions/documents/", linked.document_search, name="action_document_search"),
    path("actions/<int:pk>/attachments/", linked.attachment_upload, name="attachment_upload"),
    path("actions/<int:pk>/attachments/<int:attachment_pk>/", linked.attachment_download, name="attachment_download"),
    path(
        "actions/<int:pk>/attachments/<int:attachment_pk>/delete/",
        linked.attachment_delete,
        name="attachment_delete",
    ),
    path("folders/", folders.folder_list_page, name="folder_list"),
    path("folders/new/", folders.folder_create, name="folder_create"),
    path("folders/quick/", folders.folder_quick_create, name="folder_quick_create"),
    path("folders/<int:pk>/update/", folders.folder_edit, name="folder_edit"),
    path("folders/<int:pk>/delete/", folders.folder_delete, name="folder_delete"),
]

# Opportunity pages, behind the S6 gate as well (which includes the CRM gate).
opportunity_patterns = [
    path("folders/<int:pk>/status/", folders.opportunity_status, name="opportunity_status"),
    path("pipeline/", folders.pipeline_board, name="pipeline"),
    path("pipeline/<int:pk>/move/", folders.pipeline_move, name="pipeline_move"),
    path("pipeline/stages/<int:pk>/", folders.pipeline_column, name="pipeline_column"),
]

# The commercial side: behind login, not behind the CRM gate (quotes and invoices work with the CRM off).
sales_patterns = [
    path("documents/", documents.document_list_page, name="document_list"),
    path("documents/new/", documents.document_create, name="document_create"),
    path("documents/<int:pk>/", documents.document_detail, name="document_detail"),
    path("documents/<int:pk>/update/", documents.document_edit, name="document_edit"),
    path("documents/<int:pk>/validate/", documents.document_validate, name="document_validate"),
    path("documents/<int:pk>/cancel/", documents.document_cancel, name="document_cancel"),
    path("documents/<int:pk>/convert/", documents.document_convert, name="document_convert"),
    path("documents/<int:pk>/preview.pdf", documents.document_preview, name="document_preview"),
    path("documents/<int:pk>/print/", documents.document_print, name="document_print"),
    path("documents/<int:pk>/send/", documents.document_send, name="document_send"),
    path("documents/<int:pk>/sends/<int:event_pk>/retry/", documents.event_retry, name="document_send_retry"),
    path("settings/journals/<int:pk>/years/", sales_settings.journal_year, name="journal_year"),
    path("settings/layouts/<int:pk>/linked-actions/", linked.linked_action_rules, name="linked_action_rules"),
    path("settings/<slug:kind>/", sales_settings.sales_settings_list, name="sales_settings"),
    path("settings/<slug:kind>/new/", sales_settings.sales_settings_row, name="sales_settings_new"),
    path("settings/<slug:kind>/<int:pk>/", sales_settings.sales_settings_row, name="sales_settings_row"),
]

urlpatterns = [
    path("", pages.home, name="home"),
    path("healthz", pages.healthz, name="healthz"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth.password_change, name="password_change"),
    path("preferences/", settings.preferences, name="preferences"),
    path("language/", settings.set_language, name="set_language"),
    path("settings/", settings.company_settings_page, name="company_settings_default"),
    path("settings/users/", users.user_list, name="user_list"),
    path("settings/users/new/", users.user_create, name="user_create"),
    path("settings/users/<int:pk>/", users.user_edit, name="user_edit"),
    path("settings/users/<int:pk>/active/", users.user_active, name="user_active"),
    path("settings/users/<int:pk>/password/", users.user_password, name="user_password"),
    path("password/set/<uidb64>/<token>/", users.SetPasswordView.as_view(), name="set_password"),
    path("settings/<slug:tab>/", settings.company_settings_page, name="company_settings"),
    path("crm/", include(gated(crm_patterns, crm_gate))),
    path("sales/", include(sales_patterns)),
    path("crm/", include(gated(opportunity_patterns, opportunities_gate))),
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
    path("contacts/export.<str:fmt>", contacts.contact_export, name="contact_export"),
    path("contacts/<int:pk>/", contacts.contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/update/", contacts.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/link/", contacts.contact_link, name="contact_link"),
    path("contacts/<int:pk>/unlink/<int:party_pk>/", contacts.contact_unlink, name="contact_unlink"),
]
