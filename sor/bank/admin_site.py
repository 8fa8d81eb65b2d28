"""The clerk's admin site: the bank's own section first, and "View site" opens the customers'
dashboard (the admin is the clerk's desk; the site the customers see is the dashboard)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.admin import AdminSite
from django.http import HttpRequest

FIRST = "bank"


class BankAdminSite(AdminSite):
    site_header = "Live bank: clerk's desk"
    site_title = "Live bank"
    index_title = "Customers, accounts and the ledger"
    # The sidebar repeats the index and takes a third of a laptop's width from the account list.
    enable_nav_sidebar = False

    @property
    def site_url(self) -> str:  # type: ignore[override]
        return settings.DASHBOARD_URL

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[Any]:
        apps = super().get_app_list(request, app_label)
        return sorted(apps, key=lambda app: app["app_label"] != FIRST)
