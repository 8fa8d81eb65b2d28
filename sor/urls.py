"""The clerk's admin at /admin/, the REST API at /api/."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/", include("sor.bank.api.urls")),
]

handler404 = "sor.bank.api.errors.page_not_found"
handler500 = "sor.bank.api.errors.server_error"
