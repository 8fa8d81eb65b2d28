"""Every API error is JSON: ``{"code": <for programs>, "message": <for people>}``.

Bad input is a 400, an unknown IBAN a 404, a refusal the state of the account explains (not
enough money, frozen, changed meanwhile) a 409. Only a bug is a 500.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler

from sor.bank import errors

HTTP_STATUS: dict[type[errors.BankError], int] = {
    errors.InvalidAmount: status.HTTP_400_BAD_REQUEST,
    errors.UnknownCurrency: status.HTTP_400_BAD_REQUEST,
    errors.InvalidIban: status.HTTP_400_BAD_REQUEST,
    errors.ReasonRequired: status.HTTP_400_BAD_REQUEST,
    errors.SameAccount: status.HTTP_400_BAD_REQUEST,
    errors.CurrencyMismatch: status.HTTP_400_BAD_REQUEST,
    errors.AccountNotFound: status.HTTP_404_NOT_FOUND,
    errors.AccountBroken: status.HTTP_409_CONFLICT,
    errors.InsufficientFunds: status.HTTP_409_CONFLICT,
    errors.AccountNotOpen: status.HTTP_409_CONFLICT,
    errors.BalanceNotZero: status.HTTP_409_CONFLICT,
    errors.StaleVersion: status.HTTP_409_CONFLICT,
}


class PreconditionFailed(APIException):
    """An If-Match header named a version the account no longer has."""

    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_code = "precondition_failed"


class VersionRequired(APIException):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_code = "version_required"
    default_detail = (
        "Say which version of the account you are changing: an If-Match header with its ETag, "
        "or a `version` field"
    )


class IdempotencyKeyReused(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = (
        "This Idempotency-Key was already used for a different request; use a new key for a new "
        "request"
    )


def handle_api_exception(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, errors.BankError):
        status_code = HTTP_STATUS.get(type(exc), status.HTTP_400_BAD_REQUEST)
        body: dict[str, Any] = {"code": exc.code, "message": exc.message}
        if exc.field:
            body["fields"] = {exc.field: [exc.message]}
        return Response(body, status=status_code)
    if isinstance(exc, Http404 | ObjectDoesNotExist):
        exc = NotFound()
    response = exception_handler(exc, context)
    if response is None:
        return None
    assert isinstance(exc, APIException)
    if isinstance(exc, ValidationError):
        response.data = {"code": "invalid", "message": _summary(exc.detail), "fields": exc.detail}
    else:
        code = exc.get_codes()
        response.data = {"code": code if isinstance(code, str) else "error", "message": str(exc)}
    return response


def _summary(detail: Any, field: str = "") -> str:
    """``{"amount": ["Enter a number."]}`` reads as ``amount: Enter a number.``"""
    if isinstance(detail, dict):
        return "; ".join(_summary(value, key) for key, value in detail.items())
    if isinstance(detail, list):
        return "; ".join(_summary(item, field) for item in detail)
    return f"{field}: {detail}" if field and field != "non_field_errors" else str(detail)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"code": "not_found", "message": f"Nothing at {request.path}; see /api/docs/"},
            status=status.HTTP_404_NOT_FOUND,
        )
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"code": "server_error", "message": "Something went wrong on our side; it is logged"},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    return defaults.server_error(request)
