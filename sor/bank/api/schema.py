"""The OpenAPI schema documents every answer an operation can give, errors included: each error
is the JSON body of ``sor.bank.api.errors`` (``code``, ``message``, and ``fields`` for bad input).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ApiError(serializers.Serializer):
    code = serializers.CharField(
        help_text="For programs: e.g. `invalid`, `insufficient_funds`, `version_conflict`."
    )
    message = serializers.CharField(help_text="For people: what went wrong and what to do.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Bad input only: what is wrong with each named field.",
    )


ERRORS_OF_EVERY_OPERATION = {
    400: "Bad input; `fields` names each field that is wrong.",
    401: "No valid token (or, when signing in, a wrong username or password).",
    403: "Signed in without the permission this needs.",
    404: "No such account, customer or page.",
    406: "The Accept header asks for a format the API does not answer in.",
}
ERRORS_OF_CHANGES = {
    409: (
        "The account's state refuses it: not enough money, frozen or closed, changed by "
        "someone else meanwhile (`version_conflict`), or its row breaks the bank's rules "
        "(`account_broken`)."
    ),
    412: "If-Match names a version the account no longer has.",
    415: "The body is neither JSON nor form data.",
    422: "This Idempotency-Key was used for a different request.",
    428: "Say which version you change: an If-Match header or a `version` field.",
}
ERRORS_OF_THROTTLED = {429: "Too many attempts; Retry-After says how many seconds to wait."}


class BankAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        errors = dict(ERRORS_OF_EVERY_OPERATION)
        if self.method in ("POST", "PUT", "PATCH"):
            errors.update(ERRORS_OF_CHANGES)
        if getattr(self.view, "throttle_classes", None):
            errors.update(ERRORS_OF_THROTTLED)
        for status_code, description in errors.items():
            answer = OpenApiResponse(ApiError, description=description)
            responses.setdefault(
                str(status_code),
                self._get_response_for_code(answer, str(status_code), direction=direction),
            )
        return responses
