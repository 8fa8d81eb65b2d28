"""The REST API's routes, under /api/; /api/docs/ shows them all."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from sor.bank.api import views

router = DefaultRouter()
router.register("customers", views.CustomerViewSet, basename="customer")
router.register("accounts", views.AccountViewSet, basename="account")

urlpatterns = [
    path("auth/token/", views.ApiTokenView.as_view(), name="api-token"),
    path("auth/live-token/", views.LiveTokenView.as_view(), name="live-token"),
    path("transfers/", views.TransferView.as_view(), name="transfer"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file, which the Content-Security-Policy allows.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    *router.urls,
]
