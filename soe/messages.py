"""Everything the gateway sends to a client: the public messages of the live feed.

Each is a typed model, and each is derived field by field from the gateway's own state or from an
internal event, so what leaves the gateway is exactly what docs/live-feed-protocol.md documents.
The internal BalanceChanged event carries how it was captured (binlog file and position, GTID, the
event id built from them, the clerk's user name, the ledger match): none of that is a customer's
business, and none of it is copied here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from soe.accounts import Account, Event


class _Public(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def encode(self) -> str:
        """Compact JSON, UTF-8 left as it is (the frame is text anyway)."""
        return self.model_dump_json()


class Movement(_Public):
    """One change of one account's balance, as the customer may see it."""

    iban: str
    account_id: int
    customer_id: int | None
    currency: str
    old_balance: int
    new_balance: int
    delta: int
    sequence: int
    kind: str | None
    reason: str | None
    committed_at: int
    captured_at: int
    derived_at: int
    ledger_entry_id: int | None

    @classmethod
    def of(cls, event: Event) -> Movement:
        return cls(**{name: event[name] for name in cls.model_fields})


class BalanceChanged(Movement):
    type: Literal["balance_changed"] = "balance_changed"
    replayed: bool = False

    @classmethod
    def of(cls, event: Event, *, replayed: bool = False) -> BalanceChanged:
        fields = {name: event[name] for name in Movement.model_fields}
        return cls(**fields, replayed=replayed)


class Snapshot(_Public):
    type: Literal["snapshot"] = "snapshot"
    iban: str
    account_id: int
    customer_id: int | None
    currency: str
    balance: int
    sequence: int
    status: str
    updated_at: int
    fresh: bool
    history: list[Movement]

    @classmethod
    def of(cls, account: Account, *, history_limit: int, fresh: bool) -> Snapshot:
        recent = list(account.history)[-history_limit:] if history_limit else []
        return cls(
            iban=account.iban,
            account_id=account.account_id,
            customer_id=account.customer_id,
            currency=account.currency,
            balance=account.balance,
            sequence=account.sequence,
            status=account.status,
            updated_at=account.updated_at,
            fresh=fresh,
            history=[Movement.of(event) for event in recent],
        )


class AccountStatus(_Public):
    type: Literal["account"] = "account"
    iban: str
    status: str
    balance: int
    sequence: int
    currency: str
    updated_at: int

    @classmethod
    def of(cls, account: Account) -> AccountStatus:
        return cls(
            iban=account.iban,
            status=account.status,
            balance=account.balance,
            sequence=account.sequence,
            currency=account.currency,
            updated_at=account.updated_at,
        )


class AccountRemoved(_Public):
    type: Literal["account_removed"] = "account_removed"
    iban: str
    reason: str


class Alert(_Public):
    """An alert about one account; its internal id (built from the binlog position) stays in."""

    type: Literal["alert"] = "alert"
    kind: str
    customer_id: int | None
    iban: str
    currency: str
    balance: int
    amount: int | None
    threshold: int | None
    message: str
    raised_at: int

    @classmethod
    def of(cls, alert: Event) -> Alert:
        return cls(**{name: alert[name] for name in cls.model_fields if name != "type"})


class Welcome(_Public):
    type: Literal["welcome"] = "welcome"
    subject: str
    customer_id: int | None
    scope: str
    expires_at: int
    heartbeat_seconds: int
    max_message_bytes: int
    max_messages_per_second: int


SubscribeMode = Literal["snapshot", "resumed", "fresh_snapshot", "pending", "refused"]


class SubscribedAccount(_Public):
    iban: str
    mode: SubscribeMode
    sequence: int | None


class Subscribed(_Public):
    type: Literal["subscribed"] = "subscribed"
    accounts: list[SubscribedAccount]


class Unsubscribed(_Public):
    type: Literal["unsubscribed"] = "unsubscribed"
    accounts: list[str]


class Found(_Public):
    """The answer to a staff member's ``find``: one page of IBANs, to subscribe to."""

    type: Literal["found"] = "found"
    query: str
    page: int
    page_size: int
    total: int
    accounts: list[str]


class Ping(_Public):
    type: Literal["ping"] = "ping"
    ts: int | None


class Pong(_Public):
    type: Literal["pong"] = "pong"
    ts: int | None


class Error(_Public):
    type: Literal["error"] = "error"
    code: str
    message: str
    iban: str | None = None


Outgoing = (
    BalanceChanged
    | Snapshot
    | AccountStatus
    | AccountRemoved
    | Alert
    | Welcome
    | Subscribed
    | Unsubscribed
    | Found
    | Ping
    | Pong
    | Error
)


def fields_of(message_type: type[_Public]) -> set[str]:
    """The field names a client receives in a message of this type (``sent_at`` included)."""
    return set(message_type.model_fields) | {"sent_at"}
