"""What the API reads and writes. Amounts go out twice: a decimal string in major units
(``"1234.56"``) for people, and an integer in minor units (``*_minor``) for programs. They come in
as decimal strings in major units, read with the account's currency (``sor.bank.money``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from sor.bank.errors import UnknownCurrency
from sor.bank.models import Account, Customer, LedgerEntry
from sor.bank.money import CURRENCIES, to_major_units
from sor.bank.services import MAX_REASON_LENGTH


@extend_schema_field(OpenApiTypes.STR)
class MajorUnits(serializers.Field):
    """Shows an amount kept in minor units as a decimal string, e.g. ``"1234.56"``."""

    def __init__(self, attribute: str, currency_of: Callable[[Any], str], **kwargs: Any) -> None:
        self.attribute = attribute
        self.currency_of = currency_of
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value: Any) -> str | None:
        minor = getattr(value, self.attribute)
        if minor is None:
            return None
        try:
            return to_major_units(minor, self.currency_of(value))
        except UnknownCurrency:  # a row written around the bank: `*_minor` still says it
            return None


@extend_schema_field(OpenApiTypes.STR)
class AmountText(serializers.Field):
    """An amount as typed, e.g. ``"1234.56"``; the view reads it with the account's currency."""

    default_error_messages: ClassVar[dict[str, str]] = {
        "invalid": (
            'Give the amount as a string in major units, for example "1234.56"; a JSON number '
            "is refused, since on its way it may lose its cents"
        ),
    }

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return data

    def to_representation(self, value: Any) -> str:
        return str(value)


@extend_schema_field(OpenApiTypes.INT)
class WholeNumber(serializers.IntegerField):
    """A whole number as a JSON integer (or a string of ASCII digits); ``1.5``, ``true`` or
    ``"²"`` are refused, where DRF's IntegerField would round the first and int() read the last."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not (
            isinstance(data, int) or (isinstance(data, str) and _DIGITS.fullmatch(data))
        ):
            self.fail("invalid")
        return super().to_internal_value(int(data))


class CustomerId(serializers.PrimaryKeyRelatedField):
    """A customer by id, a whole number (Django would read ``1.5`` as customer 1)."""

    def to_internal_value(self, data: Any) -> Customer:
        if isinstance(data, bool) or not (
            isinstance(data, int) or (isinstance(data, str) and _DIGITS.fullmatch(data))
        ):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(int(data))


_DIGITS = re.compile(r"[0-9]{1,18}")


def _account_currency(account: Account) -> str:
    return account.currency


def _entry_currency(entry: LedgerEntry) -> str:
    return entry.account.currency


class CustomerSerializer(serializers.ModelSerializer):
    username = serializers.SerializerMethodField(help_text="The customer's dashboard sign-in.")
    accounts = serializers.SlugRelatedField(many=True, read_only=True, slug_field="iban")

    class Meta:
        model = Customer
        fields = ("id", "name", "email", "username", "accounts", "created_at")
        read_only_fields = ("id", "created_at")

    def get_username(self, customer: Customer) -> str | None:
        return customer.user.get_username() if customer.user else None


class AccountSerializer(serializers.ModelSerializer):
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    balance = MajorUnits("balance", _account_currency)
    balance_minor = serializers.IntegerField(source="balance", read_only=True)
    overdraft_limit = MajorUnits("overdraft_limit", _account_currency)
    overdraft_limit_minor = serializers.IntegerField(source="overdraft_limit", read_only=True)
    low_balance_threshold = MajorUnits("low_balance_threshold", _account_currency, allow_null=True)
    low_balance_threshold_minor = serializers.IntegerField(
        source="low_balance_threshold", read_only=True, allow_null=True
    )

    class Meta:
        model = Account
        fields = (
            "iban",
            "customer",
            "customer_name",
            "currency",
            "balance",
            "balance_minor",
            "overdraft_limit",
            "overdraft_limit_minor",
            "low_balance_threshold",
            "low_balance_threshold_minor",
            "status",
            "version",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


class LedgerEntrySerializer(serializers.ModelSerializer):
    iban = serializers.CharField(source="account.iban", read_only=True)
    currency = serializers.CharField(source="account.currency", read_only=True)
    amount = MajorUnits("amount", _entry_currency)
    amount_minor = serializers.IntegerField(source="amount", read_only=True)
    balance_after = MajorUnits("balance_after", _entry_currency)
    balance_after_minor = serializers.IntegerField(source="balance_after", read_only=True)
    created_by = serializers.CharField(source="created_by_username", read_only=True)

    class Meta:
        model = LedgerEntry
        fields = (
            "id",
            "iban",
            "currency",
            "kind",
            "amount",
            "amount_minor",
            "balance_after",
            "balance_after_minor",
            "reason",
            "created_by",
            "transfer_id",
            "idempotency_key",
            "created_at",
        )
        read_only_fields = fields


class AccountOpening(serializers.Serializer):
    customer = CustomerId(queryset=Customer.objects.all())
    currency = serializers.ChoiceField(choices=CURRENCIES, default="EUR")
    opening_balance = AmountText(default="0")
    overdraft_limit = AmountText(default="0")
    low_balance_threshold = AmountText(default=None, allow_null=True)


class AccountAmendment(serializers.Serializer):
    """A PATCH of an account: any of these, plus the version it was read at."""

    version = WholeNumber(
        required=False, min_value=0, help_text="Or send the account's ETag in If-Match."
    )
    balance = AmountText(required=False, help_text="The new balance; needs a reason.")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")
    overdraft_limit = AmountText(required=False)
    low_balance_threshold = AmountText(required=False, allow_null=True)


class VersionOnly(serializers.Serializer):
    version = WholeNumber(
        required=False, min_value=0, help_text="Or send the account's ETag in If-Match."
    )


class StatusChange(VersionOnly):
    """Freezing, unfreezing or closing: the version it was read at, and why."""

    reason = serializers.CharField(
        max_length=MAX_REASON_LENGTH,
        help_text="Shown to the customer with the change; kept with your name on the account.",
        error_messages={
            "required": "Give a reason; the customer is told it.",
            "blank": "Give a reason; the customer is told it.",
        },
    )


class Movement(serializers.Serializer):
    amount = AmountText(help_text='In major units, e.g. "12.50".')
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")


class TransferOrder(Movement):
    from_iban = serializers.CharField(max_length=64)
    to_iban = serializers.CharField(max_length=64)


class Booking(serializers.Serializer):
    """The answer to a deposit or withdrawal (documentation only)."""

    entry = LedgerEntrySerializer()
    account = AccountSerializer()


class TransferBooking(serializers.Serializer):
    """The answer to a transfer (documentation only)."""

    transfer_id = serializers.CharField()
    debit = LedgerEntrySerializer()
    credit = LedgerEntrySerializer()


class ApiToken(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")


class LiveTokenAnswer(serializers.Serializer):
    token = serializers.CharField(help_text="An EdDSA JWT for the live feed.")
    expires_at = serializers.DateTimeField()
    customer_id = serializers.IntegerField(allow_null=True)
    staff = serializers.BooleanField()
