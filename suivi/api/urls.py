from csp.decorators import csp_update
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from . import agenda, linked, mail, mailings, occurrences, sales, views

router = DefaultRouter()
router.register("parties", views.PartyViewSet, basename="party")
router.register("contacts", views.ContactViewSet, basename="contact")
router.register("users", views.UserViewSet, basename="user")
router.register("actions", views.ActionViewSet, basename="action")
router.register("folders", views.FolderViewSet, basename="folder")
router.register("action-types", views.ActionTypeViewSet, basename="action-type")
router.register("stages", views.StageViewSet, basename="stage")
sales.register(router)
linked.register(router)
mail.register(router)
mailings.register(router)
occurrences.register(router)
agenda.register(router)

urlpatterns = [
    path("v1/auth/token", views.obtain_token, name="api_token"),
    path("v1/settings", views.CompanySettingsView.as_view(), name="api_settings"),
    path("v1/settings/", views.CompanySettingsSlashView.as_view(), name="api_settings_slash"),
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
    # Swagger UI: its start-up script is a file (the split view), but it styles itself inline and
    # draws icons as data: images, so this page alone widens the Content-Security-Policy for those.
    path(
        "docs/",
        csp_update({"style-src": ["'unsafe-inline'"], "img-src": ["data:"]})(
            SpectacularSwaggerSplitView.as_view(url_name="api_schema")
        ),
        name="api_docs",
    ),
]
