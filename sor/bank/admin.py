"""The clerk's desk: customers, accounts and the ledger in Django admin.

Every balance change goes through ``sor.bank.services``; the admin only collects what the clerk
wants and shows what the bank says.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import transaction
from django.db.models import Count, QuerySet
from django.forms import Form, ModelForm
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html_join

from sor.bank import iban, services
from sor.bank.admin_forms import (
    AccountChangeForm,
    AccountOpenForm,
    MoneyMovementForm,
    StatusChangeForm,
    TransferForm,
)
from sor.bank.contract import breaches
from sor.bank.errors import BankError, UnknownCurrency
from sor.bank.models import Account, Customer, LedgerEntry
from sor.bank.money import format_money

LEDGER_ROWS_ON_ACCOUNT_PAGE = 50


def _money(minor: int, currency: str) -> str:
    """An amount for the clerk to read; a row written around the bank may name no currency."""
    try:
        return format_money(minor, currency)
    except UnknownCurrency:
        return f"{minor} minor units of {currency!r}"


def _broken_message(account: Account) -> str | None:
    found = breaches(account)
    if not found:
        return None
    return (
        f"Account {account.iban} breaks the bank's rules: {'; '.join(found)}. It was written "
        "outside the bank's own code; it is shown read-only and nothing can be done with it "
        "until its row is repaired."
    )


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "user", "account_count", "created_at")
    search_fields = ("name", "email", "user__username")
    autocomplete_fields = ("user",)
    readonly_fields = ("accounts_held", "created_at")
    fields = ("name", "email", "user", "accounts_held", "created_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Customer]:
        return super().get_queryset(request).select_related("user").annotate(Count("accounts"))

    @admin.display(description="Accounts", ordering="accounts__count")
    def account_count(self, customer: Customer) -> int:
        return customer.accounts__count

    @admin.display(description="Accounts")
    def accounts_held(self, customer: Customer) -> str:
        rows = (
            (reverse("admin:bank_account_change", args=[account.pk]), account, account.status)
            for account in customer.accounts.all()
        )
        return format_html_join("", '<div><a href="{}">{}</a> ({})</div>', rows) or "None yet"

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deleting would orphan the CDC history; close the accounts instead.
        return False


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    # Fits a laptop's 1366 px next to the filters: the balance carries its currency, and the
    # customer is named without the email (search finds them by either).
    list_display = (
        "iban_grouped",
        "customer_name",
        "balance_money",
        "overdraft_money",
        "status",
        "updated_at",
    )
    list_filter = ("status", "currency")
    search_fields = ("iban", "customer__name", "customer__email")
    list_select_related = ("customer",)
    autocomplete_fields = ("customer",)
    actions = ("deposit", "withdraw", "transfer", "freeze", "unfreeze", "close")
    _ACCOUNT_FACTS = (
        "iban_grouped",
        "customer",
        "currency",
        "status",
        "status_reason",
        "status_changed_by_username",
    )
    _TIMES = ("created_at", "updated_at")

    class Media:
        css: ClassVar[dict[str, tuple[str, ...]]] = {"all": ("bank/admin.css",)}

    def get_form(
        self, request: HttpRequest, obj: Account | None = None, change: bool = False, **kwargs: Any
    ) -> type[ModelForm]:
        if obj is None:
            kwargs["form"] = AccountOpenForm
        elif not breaches(obj):
            kwargs["form"] = AccountChangeForm
        # A broken row gets the plain form of its read-only page: it cannot be edited.
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Account | None = None) -> Any:
        if obj is None:
            money = ["opening_balance", "overdraft_limit", "low_balance_threshold"]
            return [(None, {"fields": ["customer", "currency", *money]})]
        if not self.has_change_permission(request, obj):
            money = ["balance_money", "overdraft_money", "threshold_money"]
            return [(None, {"fields": [*self._ACCOUNT_FACTS, *money, *self._TIMES]})]
        return [
            (None, {"fields": self._ACCOUNT_FACTS}),
            ("Balance", {"fields": ["balance", "reason", "version"]}),
            ("Terms", {"fields": ["overdraft_limit", "low_balance_threshold"]}),
            ("Times", {"fields": self._TIMES}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Account | None = None) -> Any:
        if obj is None:
            return []
        return [*self._ACCOUNT_FACTS, *self._TIMES]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # An account with a ledger is never deleted, only closed.
        return False

    def has_change_permission(self, request: HttpRequest, obj: Account | None = None) -> bool:
        if obj is not None and breaches(obj):
            return False  # shown read-only; the bank's rules cannot be applied to it
        return super().has_change_permission(request, obj)

    def has_view_permission(self, request: HttpRequest, obj: Account | None = None) -> bool:
        if obj is not None and breaches(obj):
            # Whoever may change accounts may see the broken one (read-only).
            return super().has_view_permission(request, obj) or super().has_change_permission(
                request, obj
            )
        return super().has_view_permission(request, obj)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Account], search_term: str
    ) -> tuple[QuerySet[Account], bool]:
        # Clerks type IBANs in groups of four; the database keeps them without spaces.
        compact = iban.normalize(search_term)
        if len(compact) >= 8 and compact[:2].isalpha() and compact[2:4].isdigit():
            search_term = compact
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description="IBAN", ordering="iban")
    def iban_grouped(self, account: Account) -> str:
        return iban.grouped(account.iban)

    @admin.display(description="Customer", ordering="customer__name")
    def customer_name(self, account: Account) -> str:
        return account.customer.name

    @admin.display(description="Balance", ordering="balance")
    def balance_money(self, account: Account) -> str:
        return _money(account.balance, account.currency)

    @admin.display(description="Overdraft limit", ordering="overdraft_limit")
    def overdraft_money(self, account: Account) -> str:
        return _money(account.overdraft_limit, account.currency)

    @admin.display(description="Low-balance threshold")
    def threshold_money(self, account: Account) -> str:
        threshold = account.low_balance_threshold
        return "None" if threshold is None else _money(threshold, account.currency)

    def save_model(self, request: HttpRequest, obj: Account, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            services.adjust(
                obj.pk,
                data["balance"],
                reason=data["reason"],
                by=request.user,
                expected_version=data["version"],
                terms=form.terms(),
            )
        else:
            opened = services.open_account(
                data["customer"],
                data["currency"],
                terms=form.terms(),
                opening_balance=data["opening_balance"],
                by=request.user,
            )
            obj.pk = opened.pk
        obj.refresh_from_db()

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Account | None = None,
    ) -> HttpResponse:
        if obj is not None:
            if problem := _broken_message(obj):
                self.message_user(request, problem, messages.ERROR)
            context["ledger_rows"] = self._ledger_rows(obj)
            context["ledger_size"] = obj.entries.count()
            context["ledger_url"] = (
                reverse("admin:bank_ledgerentry_changelist") + f"?account__id__exact={obj.pk}"
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    @staticmethod
    def _ledger_rows(account: Account) -> list[dict[str, Any]]:
        entries = account.entries.order_by("-id")[:LEDGER_ROWS_ON_ACCOUNT_PAGE]
        return [
            {
                "created_at": entry.created_at,
                "kind": entry.get_kind_display(),
                "amount": _money(entry.amount, account.currency),
                "balance_after": _money(entry.balance_after, account.currency),
                "reason": entry.reason,
                "clerk": entry.created_by_username or "-",
            }
            for entry in entries
        ]

    @admin.action(description="Deposit into the selected accounts", permissions=["change"])
    def deposit(self, request: HttpRequest, queryset: QuerySet[Account]) -> HttpResponse | None:
        return self._move_money(request, queryset, services.deposit, "deposit", "Deposit")

    @admin.action(description="Withdraw from the selected accounts", permissions=["change"])
    def withdraw(self, request: HttpRequest, queryset: QuerySet[Account]) -> HttpResponse | None:
        return self._move_money(request, queryset, services.withdraw, "withdraw", "Withdrawal")

    @admin.action(description="Transfer from the selected account", permissions=["change"])
    def transfer(self, request: HttpRequest, queryset: QuerySet[Account]) -> HttpResponse | None:
        accounts = list(queryset)
        if len(accounts) != 1:
            self.message_user(
                request, "Select exactly one account to transfer from.", messages.ERROR
            )
            return None
        source = accounts[0]
        if self._refuse_broken(request, accounts):
            return None
        form = TransferForm(self._posted(request), accounts=accounts)
        if form.is_valid():
            target = form.cleaned_data["to_iban"]
            try:
                services.transfer(
                    source.pk,
                    target.pk,
                    form.cleaned_data["amount"][source.pk],
                    reason=form.cleaned_data["reason"],
                    by=request.user,
                )
            except BankError as error:
                form.add_error(None, f"{error.message}. Nothing was booked.")
            else:
                self.message_user(request, f"Transferred from {source} to {target}.")
                return None
        return self._action_page(request, form, accounts, "transfer", "Transfer")

    def _move_money(
        self,
        request: HttpRequest,
        queryset: QuerySet[Account],
        booking: Callable[..., LedgerEntry],
        action: str,
        title: str,
    ) -> HttpResponse | None:
        accounts = list(queryset.order_by("id"))
        if self._refuse_broken(request, accounts):
            return None
        form = MoneyMovementForm(self._posted(request), accounts=accounts)
        if form.is_valid():
            amounts, reason = form.cleaned_data["amount"], form.cleaned_data["reason"]
            try:
                # All or nothing: a clerk re-submits the whole form after fixing one account.
                with transaction.atomic():
                    for account in accounts:
                        booking(account.pk, amounts[account.pk], reason=reason, by=request.user)
            except BankError as error:
                form.add_error(None, f"{error.message}. Nothing was booked.")
            else:
                booked = ", ".join(str(account) for account in accounts)
                self.message_user(request, f"{title} booked on {booked}.")
                return None
        return self._action_page(request, form, accounts, action, title)

    def _refuse_broken(self, request: HttpRequest, accounts: list[Account]) -> bool:
        """Says so, and True, when a selected account's row breaks the bank's rules."""
        problems = [problem for account in accounts if (problem := _broken_message(account))]
        for problem in problems:
            self.message_user(request, f"{problem} Nothing was booked.", messages.ERROR)
        return bool(problems)

    @staticmethod
    def _posted(request: HttpRequest) -> Any:
        """The intermediate form's data once the clerk submitted it, else nothing yet."""
        return request.POST if "apply" in request.POST else None

    def _action_page(
        self,
        request: HttpRequest,
        form: Form,
        accounts: list[Account],
        action: str,
        title: str,
        **extra: str,
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "form": form,
            "accounts": accounts,
            "action": action,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            **extra,
        }
        return TemplateResponse(request, "admin/bank/account/move_money.html", context)

    @admin.action(description="Freeze the selected accounts", permissions=["change"])
    def freeze(self, request: HttpRequest, queryset: QuerySet[Account]) -> HttpResponse | None:
        return self._change_status(
            request, queryset, services.freeze, "freeze", "Freeze", "Frozen",
            "No money moves on a frozen account until it is unfrozen.",
        )  # fmt: skip

    @admin.action(description="Unfreeze the selected accounts", permissions=["change"])
    def unfreeze(self, request: HttpRequest, queryset: QuerySet[Account]) -> HttpResponse | None:
        return self._change_status(
            request, queryset, services.unfreeze, "unfreeze", "Unfreeze", "Unfrozen", ""
        )

    @admin.action(description="Close the selected accounts", permissions=["change"])
    def close(self, request: HttpRequest, queryset: QuerySet[Account]) -> HttpResponse | None:
        return self._change_status(
            request, queryset, services.close, "close", "Close", "Closed",
            "Closing is for good and only for accounts whose balance is zero.",
        )  # fmt: skip

    def _change_status(
        self,
        request: HttpRequest,
        queryset: QuerySet[Account],
        change: Callable[..., Account],
        action: str,
        verb: str,
        done: str,
        warning: str,
    ) -> HttpResponse | None:
        """Asks for confirmation and a reason first; the customer is told the reason, the
        account's history keeps it with the clerk's name."""
        accounts = list(queryset.order_by("id"))
        form = StatusChangeForm(self._posted(request))
        if not form.is_valid():
            count = f"{len(accounts)} account{'s' if len(accounts) != 1 else ''}"
            return self._action_page(
                request, form, accounts, action, f"{verb} accounts",
                button=f"{verb} {count}", warning=warning,
            )  # fmt: skip
        reason = form.cleaned_data["reason"]
        changed = []
        for account in accounts:
            try:
                # The history entry commits with the change or not at all.
                with transaction.atomic():
                    updated = change(account.pk, reason=reason, by=request.user)
                    if updated.status != account.status:
                        self.log_change(request, updated, f"{done}: {reason}")
            except BankError as error:
                self.message_user(request, error.message, messages.ERROR)
                continue
            if updated.status != account.status:
                changed.append(str(updated))
        if changed:
            self.message_user(request, f"{done}: {', '.join(changed)}.")
        return None


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    """The ledger is written by the bank's rules only; here it is read."""

    list_display = (
        "created_at",
        "account",
        "kind",
        "amount_money",
        "balance_after_money",
        "reason",
        "created_by_username",
    )
    list_filter = ("kind", "account__currency")
    search_fields = ("account__iban", "reason", "created_by_username", "transfer_id")
    list_select_related = ("account",)
    # The entry's page reads amounts as money, not as the minor units the columns hold.
    fields = (
        "account",
        "kind",
        "amount_money",
        "balance_after_money",
        "reason",
        "created_by_username",
        "created_at",
        "transfer_id",
        "idempotency_key",
    )
    readonly_fields = fields

    @admin.display(description="Amount", ordering="amount")
    def amount_money(self, entry: LedgerEntry) -> str:
        return _money(entry.amount, entry.account.currency)

    @admin.display(description="Balance after")
    def balance_after_money(self, entry: LedgerEntry) -> str:
        return _money(entry.balance_after, entry.account.currency)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
