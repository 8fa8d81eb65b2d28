"""The REST API's endpoints: thin translations between HTTP and ``sor.bank.services``."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import filters, mixins, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sor.bank import audit, iban, live_tokens, services
from sor.bank.api import permissions as p
from sor.bank.api import serializers as s
from sor.bank.api.errors import PreconditionFailed, VersionRequired
from sor.bank.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from sor.bank.api.idempotency import Answer, book_once
from sor.bank.api.sign_in import Credentials, SignInThrottle, signed_in_user
from sor.bank.contract import ensure_sound
from sor.bank.errors import AccountNotFound, InvalidAmount, InvalidIban, StaleVersion
from sor.bank.models import Account, Customer, LedgerEntry
from sor.bank.money import parse_amount

_IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    str,
    OpenApiParameter.HEADER,
    description="Retrying with the same key and body books once and returns the first answer.",
)
_IF_MATCH = OpenApiParameter(
    "If-Match", str, OpenApiParameter.HEADER, description='The account\'s ETag, e.g. "7".'
)
_ETAG = re.compile(r'^(?:W/)?"?([0-9]+)"?$')
_WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")


def account_by_iban(text: str) -> Account:
    try:
        number = iban.validate(text)
    except InvalidIban:
        number = iban.normalize(text)
    account = Account.objects.select_related("customer").filter(iban=number).first()
    if account is None:
        raise AccountNotFound(f"No account has the IBAN {text!r}")
    return ensure_sound(account)


def _amount(data: dict[str, Any], field: str, currency: str) -> int:
    """The field's amount in minor units, or an InvalidAmount that names the field."""
    try:
        return parse_amount(data[field], currency)
    except InvalidAmount as error:
        raise InvalidAmount(f"{field}: {error.message}", field=field) from None


def _etag(account: Account) -> dict[str, str]:
    return {"ETag": f'"{account.version}"'}


def _expected_version(request: Request, body_version: int | None) -> tuple[int, bool]:
    """The version the client read the account at, and whether it came in an If-Match header."""
    header = request.headers.get("If-Match")
    if header is not None:
        match = _ETAG.match(header.strip())
        if not match:
            raise ValidationError({"If-Match": 'Send the account\'s ETag, e.g. "7".'})
        return int(match[1]), True
    if body_version is None:
        raise VersionRequired()
    return body_version, False


def _guarded(
    request: Request, body_version: int | None, change: Callable[[int], Account]
) -> Account:
    """Runs a change of the account that must start from the version the client read."""
    expected, from_header = _expected_version(request, body_version)
    try:
        return change(expected)
    except StaleVersion as stale:
        if from_header:
            raise PreconditionFailed(stale.message) from None
        raise


class CustomerViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Customers; ``?search=`` looks in names and email addresses."""

    queryset = Customer.objects.select_related("user").prefetch_related("accounts").order_by("id")
    serializer_class = s.CustomerSerializer
    filter_backends = (filters.SearchFilter,)
    search_fields = ("name", "email")
    required_permissions: ClassVar[dict[str, frozenset[str]]] = {
        "list": p.VIEW_CUSTOMERS,
        "retrieve": p.VIEW_CUSTOMERS,
        "create": p.ADD_CUSTOMERS,
    }


class AccountViewSet(viewsets.GenericViewSet):
    """Accounts, by IBAN. Changing one needs the version it was read at (409 or 412 if stale)."""

    serializer_class = s.AccountSerializer
    lookup_field = "iban"
    lookup_value_regex = "[^/]+"
    required_permissions: ClassVar[dict[str, frozenset[str]]] = {
        "list": p.VIEW_ACCOUNTS,
        "retrieve": p.VIEW_ACCOUNTS,
        "ledger": p.VIEW_ACCOUNTS,
        "create": p.ADD_ACCOUNTS,
        "partial_update": p.CHANGE_ACCOUNTS,
        "deposit": p.CHANGE_ACCOUNTS,
        "withdraw": p.CHANGE_ACCOUNTS,
        "freeze": p.CHANGE_ACCOUNTS,
        "unfreeze": p.CHANGE_ACCOUNTS,
        "close": p.CHANGE_ACCOUNTS,
    }

    def get_queryset(self) -> QuerySet[Account]:
        accounts = Account.objects.select_related("customer").order_by("id")
        query = self.request.query_params
        if "customer" in query:
            if not _WHOLE_NUMBER.fullmatch(query["customer"]):
                raise ValidationError({"customer": "Give a customer id, a whole number."})
            accounts = accounts.filter(customer_id=int(query["customer"]))
        for field in ("status", "currency"):
            if field in query:
                accounts = accounts.filter(**{field: query[field]})
        return accounts

    @extend_schema(
        parameters=[
            OpenApiParameter("customer", int, description="Only this customer's accounts."),
            OpenApiParameter("status", str, enum=Account.Status.values),
            OpenApiParameter("currency", str),
        ]
    )
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.AccountSerializer(page, many=True).data)

    @extend_schema(responses={200: s.AccountSerializer})
    def retrieve(self, request: Request, iban: str) -> Response:
        account = account_by_iban(iban)
        return Response(s.AccountSerializer(account).data, headers=_etag(account))

    @extend_schema(request=s.AccountOpening, responses={201: s.AccountSerializer})
    def create(self, request: Request) -> Response:
        opening = s.AccountOpening(data=request.data)
        opening.is_valid(raise_exception=True)
        data = opening.validated_data
        currency = data["currency"]
        threshold = data["low_balance_threshold"]
        account = services.open_account(
            data["customer"],
            currency,
            terms=services.Terms(
                overdraft_limit=_amount(data, "overdraft_limit", currency),
                low_balance_threshold=None
                if threshold is None
                else _amount(data, "low_balance_threshold", currency),
            ),
            opening_balance=_amount(data, "opening_balance", currency),
            by=request.user,
        )
        return Response(
            s.AccountSerializer(account).data,
            status=status.HTTP_201_CREATED,
            headers=_etag(account),
        )

    @extend_schema(
        request=s.AccountAmendment, responses={200: s.AccountSerializer}, parameters=[_IF_MATCH]
    )
    def partial_update(self, request: Request, iban: str) -> Response:
        """Sets the balance (booked as an adjustment, with a reason) and the terms."""
        account = account_by_iban(iban)
        amendment = s.AccountAmendment(data=request.data)
        amendment.is_valid(raise_exception=True)
        data = amendment.validated_data

        def parsed(field: str, current: int) -> int:
            return _amount(data, field, account.currency) if field in data else current

        threshold = account.low_balance_threshold
        if "low_balance_threshold" in data:
            raw = data["low_balance_threshold"]
            threshold = (
                None if raw is None else _amount(data, "low_balance_threshold", account.currency)
            )
        target_balance = parsed("balance", account.balance)
        terms = services.Terms(parsed("overdraft_limit", account.overdraft_limit), threshold)
        # The audit row commits with the change or not at all.
        with transaction.atomic():
            amended = _guarded(
                request,
                data.get("version"),
                lambda version: services.adjust(
                    account.pk,
                    target_balance,
                    reason=data["reason"],
                    by=request.user,
                    expected_version=version,
                    terms=terms,
                ),
            )
            if terms != services.Terms.of(account):
                audit.record_change(request.user, amended, "Changed the terms through the API")
        return Response(s.AccountSerializer(amended).data, headers=_etag(amended))

    @extend_schema(
        parameters=[
            OpenApiParameter("page", int),
        ],
        responses={200: s.LedgerEntrySerializer(many=True)},
    )
    @action(detail=True, methods=["get"])
    def ledger(self, request: Request, iban: str) -> Response:
        """The account's ledger entries, newest first."""
        account = account_by_iban(iban)
        entries = LedgerEntry.objects.filter(account=account).select_related("account")
        page = self.paginate_queryset(entries.order_by("-id"))
        return self.get_paginated_response(s.LedgerEntrySerializer(page, many=True).data)

    @extend_schema(
        request=s.Movement, responses={201: s.Booking}, parameters=[_IDEMPOTENCY_PARAMETER]
    )
    @action(detail=True, methods=["post"])
    def deposit(self, request: Request, iban: str) -> Response:
        return self._move_money(request, iban, services.deposit)

    @extend_schema(
        request=s.Movement, responses={201: s.Booking}, parameters=[_IDEMPOTENCY_PARAMETER]
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, iban: str) -> Response:
        return self._move_money(request, iban, services.withdraw)

    @extend_schema(
        request=s.StatusChange, responses={200: s.AccountSerializer}, parameters=[_IF_MATCH]
    )
    @action(detail=True, methods=["post"])
    def freeze(self, request: Request, iban: str) -> Response:
        return self._change_status(request, iban, services.freeze, "Froze the account")

    @extend_schema(
        request=s.StatusChange, responses={200: s.AccountSerializer}, parameters=[_IF_MATCH]
    )
    @action(detail=True, methods=["post"])
    def unfreeze(self, request: Request, iban: str) -> Response:
        return self._change_status(request, iban, services.unfreeze, "Unfroze the account")

    @extend_schema(
        request=s.StatusChange, responses={200: s.AccountSerializer}, parameters=[_IF_MATCH]
    )
    @action(detail=True, methods=["post"])
    def close(self, request: Request, iban: str) -> Response:
        return self._change_status(request, iban, services.close, "Closed the account")

    def _move_money(
        self, request: Request, iban: str, booking: Callable[..., LedgerEntry]
    ) -> Response:
        account = account_by_iban(iban)
        movement = s.Movement(data=request.data)
        movement.is_valid(raise_exception=True)
        amount = _amount(movement.validated_data, "amount", account.currency)
        reason = movement.validated_data["reason"]  # required, as in the admin: one rule

        def book(key: str | None) -> Answer:
            entry = booking(account.pk, amount, reason=reason, by=request.user, idempotency_key=key)
            body = {
                "entry": s.LedgerEntrySerializer(entry).data,
                "account": s.AccountSerializer(entry.account).data,
            }
            return status.HTTP_201_CREATED, body

        return book_once(request, book)

    def _change_status(
        self, request: Request, iban: str, change: Callable[..., Account], what: str
    ) -> Response:
        account = account_by_iban(iban)
        body = s.StatusChange(data=request.data)
        body.is_valid(raise_exception=True)
        reason = body.validated_data["reason"]
        # The audit row commits with the change or not at all.
        with transaction.atomic():
            changed = _guarded(
                request,
                body.validated_data.get("version"),
                lambda version: change(
                    account.pk, expected_version=version, reason=reason, by=request.user
                ),
            )
            if changed.status != account.status:
                audit.record_change(request.user, changed, f"{what} through the API")
        return Response(s.AccountSerializer(changed).data, headers=_etag(changed))


class TransferView(APIView):
    """Moves money between two accounts of the same currency."""

    required_permissions: ClassVar[dict[str, frozenset[str]]] = {"post": p.CHANGE_ACCOUNTS}

    @extend_schema(
        request=s.TransferOrder,
        responses={201: s.TransferBooking},
        parameters=[_IDEMPOTENCY_PARAMETER],
    )
    def post(self, request: Request) -> Response:
        order = s.TransferOrder(data=request.data)
        order.is_valid(raise_exception=True)
        data = order.validated_data
        source = account_by_iban(iban.validate(data["from_iban"]))
        target = account_by_iban(iban.validate(data["to_iban"]))
        amount = _amount(data, "amount", source.currency)
        reason = data["reason"]

        def book(key: str | None) -> Answer:
            transfer = services.transfer(
                source.pk, target.pk, amount, reason=reason, by=request.user, idempotency_key=key
            )
            body: dict[str, Any] = {
                "transfer_id": transfer.transfer_id,
                "debit": s.LedgerEntrySerializer(transfer.debit).data,
                "credit": s.LedgerEntrySerializer(transfer.credit).data,
            }
            return status.HTTP_201_CREATED, body

        return book_once(request, book)


class ApiTokenView(APIView):
    """A staff member's API token, for ``Authorization: Token <token>``."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (SignInThrottle,)

    @extend_schema(request=Credentials, responses={200: s.ApiToken})
    def post(self, request: Request) -> Response:
        user = signed_in_user(request)
        if not user.is_staff:
            raise PermissionDenied("Only staff get API tokens; customers sign in to the dashboard")
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class LiveTokenView(APIView):
    """A short-lived token for the live feed: a customer's own accounts, or all for staff."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (SignInThrottle,)

    @extend_schema(request=Credentials, responses={200: s.LiveTokenAnswer})
    def post(self, request: Request) -> Response:
        user = signed_in_user(request)
        customer = getattr(user, "customer", None)
        staff = user.is_staff and any(user.has_perm(name) for name in p.VIEW_ACCOUNTS)
        if customer is None and not staff:
            raise PermissionDenied(f"{user.get_username()!r} has no accounts to watch")
        key = live_tokens.signing_key(
            settings.LIVE_TOKEN_PRIVATE_KEY_PEM, settings.LIVE_TOKEN_KEY_FILE
        )
        token = live_tokens.mint(
            key,
            subject=user.get_username(),
            customer_id=customer.pk if customer else None,
            staff=staff,
            ttl_seconds=settings.LIVE_TOKEN_TTL_SECONDS,
        )
        return Response(
            {
                "token": token.token,
                "expires_at": token.expires_at.isoformat(),
                "customer_id": token.customer_id,
                "staff": token.staff,
            }
        )
