from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class BankConfig(AppConfig):
    name = "sor.bank"
    label = "bank"
    verbose_name = "Bank"
    default_auto_field = "django.db.models.BigAutoField"


class BankAdminConfig(AdminConfig):
    default_site = "sor.bank.admin_site.BankAdminSite"
