"""The clerk's forms: amounts typed in major units, rules checked before anything is written.

Each form asks ``sor.bank.services`` whether the change is allowed and shows its refusal as a form
error, so the rules stay in one place. The account form locks the account row while it checks;
the admin saves inside the same transaction, so the check still holds when the change is booked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from sor.bank import iban, services
from sor.bank.errors import BankError, ReasonRequired
from sor.bank.models import Account
from sor.bank.money import CURRENCIES, parse_amount, to_major_units

# The account's money fields are read and written by these forms and the service module only;
# excluding them from the model form keeps Django from copying them onto the account.
_MONEY_FIELDS = ["balance", "overdraft_limit", "low_balance_threshold", "version"]


def _amount(text: str, currency: str) -> int:
    try:
        return parse_amount(text, currency)
    except BankError as error:
        raise ValidationError(error.message) from None


class AccountChangeForm(forms.ModelForm):
    balance = forms.CharField(
        label="Balance",
        help_text="Change it to book the difference as an adjustment, e.g. 1234.56.",
    )
    reason = forms.CharField(
        required=False,
        max_length=services.MAX_REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required when the balance changes; kept in the ledger, shown to the customer.",
    )
    # A form posted without the terms leaves them as they are, so a script may post the balance,
    # reason and version alone.
    overdraft_limit = forms.CharField(
        label="Overdraft limit",
        required=False,
        help_text="The balance may go down to minus this; 0 for none.",
    )
    low_balance_threshold = forms.CharField(
        label="Low-balance threshold",
        required=False,
        help_text="Below this the customer gets an alert; empty for none.",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    class Meta:
        model = Account
        exclude = _MONEY_FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        account, currency = self.instance, self.instance.currency
        self.initial["balance"] = to_major_units(account.balance, currency)
        self.initial["overdraft_limit"] = to_major_units(account.overdraft_limit, currency)
        threshold = account.low_balance_threshold
        self.initial["low_balance_threshold"] = (
            "" if threshold is None else to_major_units(threshold, currency)
        )
        self.initial["version"] = account.version
        for name in ("balance", "overdraft_limit", "low_balance_threshold"):
            self.fields[name].label = f"{self.fields[name].label} ({currency})"

    def clean_balance(self) -> int:
        return _amount(self.cleaned_data["balance"], self.instance.currency)

    def clean_overdraft_limit(self) -> int:
        if "overdraft_limit" not in self.data:
            return self.instance.overdraft_limit
        text = self.cleaned_data["overdraft_limit"]
        if not text:
            raise ValidationError("Enter the overdraft limit; 0 for none.")
        return _amount(text, self.instance.currency)

    def clean_low_balance_threshold(self) -> int | None:
        if "low_balance_threshold" not in self.data:
            return self.instance.low_balance_threshold
        text = self.cleaned_data["low_balance_threshold"]
        return _amount(text, self.instance.currency) if text else None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        account = services.lock_account(self.instance.pk)
        try:
            services.check_adjustment(
                account,
                cleaned["balance"],
                reason=cleaned["reason"],
                expected_version=cleaned["version"],
                terms=self.terms(),
            )
        except ReasonRequired as error:
            self.add_error("reason", error.message)
        except BankError as error:
            raise ValidationError(error.message) from None
        return cleaned

    def terms(self) -> services.Terms:
        return services.Terms(
            self.cleaned_data["overdraft_limit"], self.cleaned_data["low_balance_threshold"]
        )


class AccountOpenForm(forms.ModelForm):
    currency = forms.ChoiceField(choices=[(code, code) for code in CURRENCIES], initial="EUR")
    opening_balance = forms.CharField(
        initial="0.00", help_text="Booked as the account's first ledger entry."
    )
    overdraft_limit = forms.CharField(
        initial="0.00", help_text="The balance may go down to minus this; 0 for none."
    )
    low_balance_threshold = forms.CharField(
        required=False, help_text="Below this the customer gets an alert; empty for none."
    )

    class Meta:
        model = Account
        exclude = _MONEY_FIELDS

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        currency = cleaned.get("currency")
        if not currency:
            return cleaned
        for name in ("opening_balance", "overdraft_limit", "low_balance_threshold"):
            text = cleaned.get(name)
            if text:
                try:
                    cleaned[name] = parse_amount(text, currency)
                except BankError as error:
                    self.add_error(name, error.message)
            elif name == "low_balance_threshold":
                cleaned[name] = None
        if not self.errors:
            try:
                services.check_opening(currency, self.terms(), cleaned["opening_balance"])
            except BankError as error:
                raise ValidationError(error.message) from None
        return cleaned

    def terms(self) -> services.Terms:
        return services.Terms(
            self.cleaned_data["overdraft_limit"], self.cleaned_data["low_balance_threshold"]
        )


class MoneyMovementForm(forms.Form):
    """The amount and reason of a deposit or withdrawal on the accounts a clerk selected."""

    amount = forms.CharField(help_text="In each account's currency, e.g. 250.00.")
    reason = forms.CharField(
        max_length=services.MAX_REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Kept in the ledger and shown to the customer.",
    )

    def __init__(self, *args: Any, accounts: Sequence[Account], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.accounts = accounts

    def clean_amount(self) -> dict[int, int]:
        """The amount in minor units for each selected account, by account id."""
        text = self.cleaned_data["amount"]
        amounts = {account.pk: _amount(text, account.currency) for account in self.accounts}
        if any(amount <= 0 for amount in amounts.values()):
            raise ValidationError("The amount must be more than zero.")
        return amounts


class TransferForm(MoneyMovementForm):
    to_iban = forms.CharField(label="To IBAN", max_length=64)

    def clean_to_iban(self) -> Account:
        try:
            number = iban.validate(self.cleaned_data["to_iban"])
        except BankError as error:
            raise ValidationError(error.message) from None
        account = Account.objects.filter(iban=number).first()
        if account is None:
            raise ValidationError(f"No account of this bank has the IBAN {iban.grouped(number)}.")
        return account


class StatusChangeForm(forms.Form):
    """The reason for freezing, unfreezing or closing the accounts a clerk selected."""

    reason = forms.CharField(
        max_length=services.MAX_REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Shown to the customer with the change; kept with your name on the account.",
        error_messages={"required": "Give a reason; the customer is told it."},
    )
