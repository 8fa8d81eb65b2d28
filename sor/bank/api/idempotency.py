"""The ``Idempotency-Key`` header: a retried money-moving request is answered, not booked twice.

The first request with a key books and stores its answer in the same transaction; a repeat with
the same body gets that answer again; the same key with another body is refused. A concurrent
repeat waits on the key's unique index until the first commits, then gets the stored answer.
A request refused by the bank's rules stores nothing, so it may be retried with the same key.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from sor.bank.api.errors import IdempotencyKeyReused
from sor.bank.models import IdempotentRequest

HEADER = "Idempotency-Key"
_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")

# What a booking returns: the HTTP status and the JSON body of its answer.
Answer = tuple[int, dict[str, Any]]


class InvalidIdempotencyKey(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_idempotency_key"
    default_detail = (
        "The Idempotency-Key header must be 1 to 255 printable ASCII characters without spaces, "
        "for example a UUID"
    )


def book_once(request: Request, book: Callable[[str | None], Answer]) -> Response:
    """Runs ``book`` (given the key, to keep in the ledger) unless this key was used already."""
    key = request.headers.get(HEADER)
    if key is None:
        status_code, body = book(None)
        return Response(body, status=status_code)
    if not _VALID_KEY.match(key):
        raise InvalidIdempotencyKey()
    fingerprint = _fingerprint(request)
    earlier = _earlier_answer(request, key, fingerprint)
    if earlier is not None:
        return earlier
    try:
        with transaction.atomic():
            record = IdempotentRequest.objects.create(
                user=request.user, key=key, fingerprint=fingerprint
            )
            status_code, body = book(key)
            record.response_status, record.response_body = status_code, body
            record.save(update_fields=["response_status", "response_body"])
    except IntegrityError:
        earlier = _earlier_answer(request, key, fingerprint)
        if earlier is None:
            raise
        return earlier
    return Response(body, status=status_code)


def _fingerprint(request: Request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _earlier_answer(request: Request, key: str, fingerprint: str) -> Response | None:
    record = IdempotentRequest.objects.filter(user=request.user, key=key).first()
    if record is None:
        return None
    if record.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return Response(
        record.response_body, status=record.response_status, headers={"Idempotent-Replayed": "true"}
    )
