"""The live-feed protocol: what clients may send, and the close codes.

What the gateway sends is in ``soe.messages``. docs/live-feed-protocol.md is the prose version of
both modules; keep them in step.
"""

from __future__ import annotations

import json
from enum import IntEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

IBAN_PATTERN = r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$"
MAX_ACCOUNTS_PER_SUBSCRIBE = 100
# A staff member's search pages through the accounts; one page can be subscribed in one go.
MAX_PAGE_SIZE = MAX_ACCOUNTS_PER_SUBSCRIBE
MAX_QUERY_LENGTH = 64

Iban = Annotated[str, Field(pattern=IBAN_PATTERN)]


class CloseCode(IntEnum):
    NORMAL = 1000
    GOING_AWAY = 1001
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    TRY_AGAIN_LATER = 1013
    AUTH_REQUIRED = 4001
    AUTH_FAILED = 4002
    TOKEN_EXPIRED = 4003
    SLOW_CONSUMER = 4008
    HEARTBEAT_TIMEOUT = 4010
    TOO_MANY_CONNECTIONS = 4013
    TOO_MANY_MESSAGES = 4029


class ProtocolError(Exception):
    """A client message the gateway cannot use; ``code`` is the error code sent back."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Auth(_Message):
    type: Literal["auth"]
    token: str = Field(min_length=1)


class Subscribe(_Message):
    type: Literal["subscribe"]
    accounts: list[Iban] | None = Field(default=None, max_length=MAX_ACCOUNTS_PER_SUBSCRIBE)
    all: bool = False
    resume: dict[Iban, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _all_or_accounts(self) -> Subscribe:
        if self.all and self.accounts is not None:
            raise ValueError("give either accounts or all, not both")
        return self


class Unsubscribe(_Message):
    type: Literal["unsubscribe"]
    accounts: list[Iban] = Field(min_length=1, max_length=MAX_ACCOUNTS_PER_SUBSCRIBE)


class Find(_Message):
    """Staff only: one page of the accounts whose IBAN holds ``query`` or whose customer number
    it is (an empty query finds every account), sorted by IBAN."""

    type: Literal["find"]
    query: str = Field(default="", max_length=MAX_QUERY_LENGTH)
    page: int = Field(default=1, ge=1)
    page_size: int = Field(default=50, ge=1, le=MAX_PAGE_SIZE)


class Ping(_Message):
    type: Literal["ping"]
    ts: int | None = None


class Pong(_Message):
    type: Literal["pong"]
    ts: int | None = None


ClientMessage = Annotated[
    Auth | Subscribe | Unsubscribe | Find | Ping | Pong, Field(discriminator="type")
]
_client_message: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)
CLIENT_TYPES = ("auth", "subscribe", "unsubscribe", "find", "ping", "pong")


def parse_client_message(text: str | bytes, max_bytes: int) -> ClientMessage:
    """Parse one client frame; raises ProtocolError naming what is wrong."""
    size = len(text.encode() if isinstance(text, str) else text)
    if size > max_bytes:
        raise ProtocolError("message_too_big", f"messages are limited to {max_bytes} bytes")
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError("malformed", "the message is not JSON") from None
    if not isinstance(data, dict):
        raise ProtocolError("malformed", "the message is not a JSON object")
    if data.get("type") not in CLIENT_TYPES:
        raise ProtocolError(
            "unknown_type",
            f"type must be one of {', '.join(CLIENT_TYPES)}; got {data.get('type')!r}",
        )
    try:
        return _client_message.validate_python(data)
    except ValidationError as error:
        raise ProtocolError("malformed", _describe(error)) from None


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"][1:]) or "message"
    return f"{where}: {first['msg']}"


def stamp_sent_at(payload: str, now_ms: int) -> str:
    """Add ``sent_at`` to an encoded message without encoding it again for every client."""
    return f'{payload[:-1]},"sent_at":{now_ms}}}'
