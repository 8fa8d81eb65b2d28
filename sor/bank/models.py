"""Customers, their accounts and the ledger of every change to a balance.

Table names are explicit because the CDC topics are named after them (``sor.bank.account``...).
Balances change only through ``sor.bank.services``, which keeps them equal to their ledger.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from sor.bank import money
from sor.bank.errors import BankError
from sor.bank.iban import grouped, validate


def _validate_iban(value: str) -> None:
    try:
        validate(value)
    except BankError as error:
        raise ValidationError(error.message) from None


def _validate_currency(value: str) -> None:
    try:
        money.minor_unit_digits(value)
    except BankError as error:
        raise ValidationError(error.message) from None


class Customer(models.Model):
    name = models.CharField(max_length=200)
    email = models.EmailField(unique=True)
    # The customer's sign-in to the dashboard; a customer may have none.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customer",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        db_table = "customer"
        ordering = ("name", "id")

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class Account(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        FROZEN = "frozen", "Frozen"
        CLOSED = "closed", "Closed"

    iban = models.CharField("IBAN", max_length=34, unique=True, validators=[_validate_iban])
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="accounts")
    currency = models.CharField(max_length=3, validators=[_validate_currency])
    balance = models.BigIntegerField(default=0, help_text="In minor units (cents).")
    overdraft_limit = models.BigIntegerField(
        default=0, help_text="In minor units; the balance may go down to minus this."
    )
    low_balance_threshold = models.BigIntegerField(
        null=True, blank=True, help_text="In minor units; below it the customer gets an alert."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    # Why the status last changed, told to the customer; who changed it stays inside the bank.
    # Database defaults too: rows written around the application (SQL, restores) stay valid.
    status_reason = models.TextField(blank=True, default="", db_default="")
    status_changed_by_username = models.CharField(
        max_length=150, blank=True, default="", db_default=""
    )
    # Optimistic locking: every change adds one, and a change made from a stale copy is refused.
    version = models.PositiveBigIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "account"
        ordering = ("id",)
        constraints = (
            models.CheckConstraint(
                condition=Q(overdraft_limit__gte=0),
                name="account_overdraft_limit_not_negative",
                violation_error_message="The overdraft limit cannot be negative.",
            ),
            models.CheckConstraint(
                condition=Q(balance__gte=-F("overdraft_limit")),
                name="account_balance_within_overdraft",
                violation_error_message="The balance may not go below the overdraft limit.",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["open", "frozen", "closed"]),
                name="account_status_known",
            ),
        )

    def __str__(self) -> str:
        return grouped(self.iban)

    @property
    def balance_display(self) -> str:
        return money.format_money(self.balance, self.currency)


class LedgerEntry(models.Model):
    class Kind(models.TextChoices):
        OPENING = "opening", "Opening balance"
        DEPOSIT = "deposit", "Deposit"
        WITHDRAWAL = "withdrawal", "Withdrawal"
        TRANSFER_IN = "transfer_in", "Transfer in"
        TRANSFER_OUT = "transfer_out", "Transfer out"
        ADJUSTMENT = "adjustment", "Adjustment"

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    amount = models.BigIntegerField(help_text="Signed, in minor units.")
    balance_after = models.BigIntegerField(help_text="In minor units.")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    reason = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Kept beside the foreign key so the CDC stream can name the clerk without a lookup.
    created_by_username = models.CharField(max_length=150, blank=True, default="")
    # Text rather than Django's UUIDField: MariaDB 10.7+ would get its native UUID column type,
    # which the CDC stream should not have to decode.
    transfer_id = models.CharField(max_length=36, null=True, blank=True, db_index=True)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        db_table = "ledger_entry"
        ordering = ("-id",)
        verbose_name_plural = "ledger entries"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {money.format_money(self.amount, self.account.currency)}"


class IdempotentRequest(models.Model):
    """A money-moving API request made with an Idempotency-Key, and the answer it got."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # A hash of method, path and body: the same key with a different request is refused.
    fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        db_table = "idempotent_request"
        constraints = (
            models.UniqueConstraint(fields=["user", "key"], name="idempotent_request_user_key"),
        )


class SignInBudget(models.Model):
    """Sign-in attempts for one username in its current window.

    An attempt is counted before its password is checked, in one locked row, so guesses sent in
    parallel cannot all pass a check that reads the count before any of them wrote it.
    """

    # The key itself: one unique index, so concurrent upserts of one row cannot deadlock.
    username = models.CharField(max_length=150, primary_key=True)
    attempts = models.PositiveIntegerField(default=0)
    window_ends = models.DateTimeField()

    class Meta:
        db_table = "sign_in_budget"
