from django.apps import AppConfig


class BankConfig(AppConfig):
    name = "sor.bank"
    label = "bank"
    verbose_name = "Bank"
    default_auto_field = "django.db.models.BigAutoField"
