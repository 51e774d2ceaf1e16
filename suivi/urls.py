from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("api/", include("suivi.api.urls")),
    path("admin/", admin.site.urls),
    path("", include("suivi.web.urls")),
]
