"""One websocket's send queue and subscriptions, and the hub that fans events out to them.

Fan-out never waits: it only appends to each watcher's bounded queue, and a client whose queue is
full is disconnected, so one client that stops reading slows nobody else down.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any, Literal

from soe import metrics, protocol
from soe.accounts import Account, AccountBook, Event, StateChange, snapshot
from soe.auth import Principal
from soe.fan_out_log import FanOutLog
from soe.protocol import CloseCode, Subscribe

log = logging.getLogger(__name__)

MAX_PENDING = 100


class SendQueue:
    """Messages waiting for one client. Live messages (events, alerts, heartbeats) are bounded;
    replies to the client's own requests (snapshots, replays, errors) always fit, as their number
    is bounded by what the client asked for."""

    def __init__(self, live_limit: int) -> None:
        self._items: deque[tuple[str, str, bool]] = deque()
        self._live = 0
        self._limit = live_limit
        self._waiting = asyncio.Event()

    def __len__(self) -> int:
        return len(self._items)

    def offer(self, payload: str, kind: str) -> bool:
        """Queue a live message; False when the client already has ``live_limit`` unsent."""
        if self._live >= self._limit:
            return False
        self._live += 1
        self._items.append((payload, kind, True))
        self._waiting.set()
        return True

    def put(self, payload: str, kind: str) -> None:
        self._items.append((payload, kind, False))
        self._waiting.set()

    async def get(self) -> tuple[str, str]:
        while not self._items:
            self._waiting.clear()
            await self._waiting.wait()
        payload, kind, live = self._items.popleft()
        if live:
            self._live -= 1
        return payload, kind


class Connection:
    """An authenticated client: who it is, what it watches, and what is waiting to be sent."""

    def __init__(self, principal: Principal, live_queue_limit: int, peer: str) -> None:
        self.principal = principal
        self.peer = peer
        self.queue = SendQueue(live_queue_limit)
        self.watching: set[str] = set()
        # Accounts asked for before the gateway knew them, with the sequence to resume from.
        self.pending: dict[str, int | None] = {}
        self.follows: Literal["own", "all"] | None = None
        # Highest sequence sent per account, so a change is never sent twice.
        self.sent_sequence: dict[str, int] = {}
        self.closing: asyncio.Future[tuple[int | None, str]] = (
            asyncio.get_running_loop().create_future()
        )

    def __repr__(self) -> str:
        return f"<connection {self.peer} subject={self.principal.subject}>"

    def reply(self, message: dict[str, Any]) -> None:
        self.queue.put(protocol.encode(message), message["type"])

    def push(self, message: dict[str, Any]) -> bool:
        return self.queue.offer(protocol.encode(message), message["type"])

    def request_close(self, code: int | None, reason: str = "") -> None:
        """Ask the session to end; ``code`` None means the client is already gone."""
        if not self.closing.done():
            self.closing.set_result((code, reason))


class Hub:
    def __init__(
        self, book: AccountBook, snapshot_history: int, fan_outs: FanOutLog | None = None
    ) -> None:
        self.book = book
        self.fan_outs = fan_outs if fan_outs is not None else FanOutLog()
        self._snapshot_history = snapshot_history
        self._connections: set[Connection] = set()
        self._by_iban: dict[str, set[Connection]] = {}
        self._following_customer: dict[int, set[Connection]] = {}
        self._following_all: set[Connection] = set()
        self._pending: dict[str, set[Connection]] = {}

    def __len__(self) -> int:
        return len(self._connections)

    def register(self, connection: Connection) -> None:
        self._connections.add(connection)
        metrics.CONNECTIONS.set(len(self._connections))

    def unregister(self, connection: Connection) -> None:
        self._connections.discard(connection)
        for iban in connection.watching:
            _discard(self._by_iban, iban, connection)
        connection.watching.clear()
        for iban in connection.pending:
            _discard(self._pending, iban, connection)
        connection.pending.clear()
        self._unfollow(connection)
        metrics.CONNECTIONS.set(len(self._connections))

    def close_all(self, code: int, reason: str) -> None:
        for connection in list(self._connections):
            connection.request_close(code, reason)

    def subscribe(self, connection: Connection, request: Subscribe) -> None:
        principal = connection.principal
        if request.all:
            if not principal.staff:
                connection.reply(protocol.error("forbidden", "only staff may watch all accounts"))
                return
            self._follow(connection, "all")
            accounts = [account.iban for account in self.book.all()]
        elif request.accounts is None:
            if principal.staff or principal.customer_id is None:
                connection.reply(
                    protocol.error("bad_request", "a staff token must name accounts or set all")
                )
                return
            self._follow(connection, "own")
            accounts = [account.iban for account in self.book.owned_by(principal.customer_id)]
        else:
            accounts = list(dict.fromkeys(request.accounts))
        started = []
        for iban in accounts:
            account = self.book.get(iban)
            resume = request.resume.get(iban)
            if account is None:
                started.append(self._wait_for(connection, iban, resume))
            elif principal.may_watch(account.customer_id):
                started.append(self._start_watching(connection, account, resume))
            else:
                self._refuse(connection, iban)
        connection.reply({"type": "subscribed", "accounts": started})

    def unsubscribe(self, connection: Connection, ibans: list[str]) -> None:
        for iban in ibans:
            connection.watching.discard(iban)
            connection.sent_sequence.pop(iban, None)
            _discard(self._by_iban, iban, connection)
            if iban in connection.pending:
                del connection.pending[iban]
                _discard(self._pending, iban, connection)
        connection.reply({"type": "unsubscribed", "accounts": ibans})

    def push(self, connection: Connection, message: dict[str, Any]) -> None:
        """Queue a live message for one client, disconnecting it if it stopped reading."""
        if not connection.push(message):
            self.drop_slow(connection)

    def publish_change(self, event: Event, *, at_start: bool = False) -> None:
        """Queue a change to every connection watching its account; ``at_start`` marks one read
        back while the gateway catches up at start, before any client may connect."""
        iban = event["iban"]
        if iban in self._pending:
            self._resolve_pending(iban)
        queued = self._fan_out(event)
        self.fan_outs.record(event["event_id"], queued, at_start=at_start)

    def _fan_out(self, event: Event) -> int:
        """How many connections the change was queued to."""
        iban, sequence = event["iban"], event["sequence"]
        watchers = self._by_iban.get(iban)
        if not watchers:
            return 0
        payload = protocol.encode({"type": "balance_changed", **event})
        owner = event.get("customer_id")
        queued = 0
        for connection in list(watchers):
            if connection.sent_sequence.get(iban, -1) >= sequence:
                continue
            if not connection.principal.may_watch(owner):
                self._stop_watching(connection, iban, "the account changed owner")
                continue
            connection.sent_sequence[iban] = sequence
            if connection.queue.offer(payload, "balance_changed"):
                queued += 1
            else:
                self.drop_slow(connection)
        return queued

    def publish_state(self, change: StateChange) -> None:
        account = change.account
        if account.iban in self._pending:
            self._resolve_pending(account.iban)
        if not change.created and change.previous_owner != account.customer_id:
            for connection in list(self._by_iban.get(account.iban, ())):
                if not connection.principal.may_watch(account.customer_id):
                    self._stop_watching(connection, account.iban, "the account changed owner")
        if change.created or change.previous_owner != account.customer_id:
            followers = set(self._following_all)
            if account.customer_id is not None:
                followers |= self._following_customer.get(account.customer_id, set())
            for connection in followers:
                if account.iban not in connection.watching:
                    self._start_watching(connection, account, None)
        if change.status_changed:
            message = {
                "type": "account",
                "iban": account.iban,
                "status": account.status,
                "balance": account.balance,
                "sequence": account.sequence,
                "currency": account.currency,
                "updated_at": account.updated_at,
            }
            for connection in list(self._by_iban.get(account.iban, ())):
                self.push(connection, message)

    def publish_removed(self, account: Account) -> None:
        for connection in list(self._by_iban.get(account.iban, ())):
            self._stop_watching(connection, account.iban, "the account was deleted")

    def publish_alert(self, alert: Event) -> None:
        watchers = self._by_iban.get(alert["iban"])
        if not watchers:
            return
        payload = protocol.encode({"type": "alert", **alert})
        for connection in list(watchers):
            if connection.principal.may_watch(alert.get("customer_id")) and not (
                connection.queue.offer(payload, "alert")
            ):
                self.drop_slow(connection)

    def _start_watching(
        self, connection: Connection, account: Account, resume_from: int | None
    ) -> dict[str, Any]:
        iban = account.iban
        missed = None if resume_from is None else self.book.missed_since(account, resume_from)
        if resume_from is not None and missed is not None:
            for event in missed:
                connection.reply({"type": "balance_changed", **event, "replayed": True})
            connection.sent_sequence[iban] = missed[-1]["sequence"] if missed else resume_from
            mode = "resumed"
        else:
            fresh = resume_from is not None
            connection.reply(snapshot(account, history_limit=self._snapshot_history, fresh=fresh))
            connection.sent_sequence[iban] = account.sequence
            mode = "fresh_snapshot" if fresh else "snapshot"
        connection.watching.add(iban)
        self._by_iban.setdefault(iban, set()).add(connection)
        return {"iban": iban, "mode": mode, "sequence": connection.sent_sequence[iban]}

    def _stop_watching(self, connection: Connection, iban: str, reason: str) -> None:
        connection.watching.discard(iban)
        connection.sent_sequence.pop(iban, None)
        _discard(self._by_iban, iban, connection)
        connection.reply({"type": "account_removed", "iban": iban, "reason": reason})

    def _wait_for(self, connection: Connection, iban: str, resume: int | None) -> dict[str, Any]:
        """An account the gateway has not read yet (just opened, or never heard of): decided
        when it appears; until then nothing is sent about it."""
        if iban not in connection.pending and len(connection.pending) >= MAX_PENDING:
            connection.reply(
                protocol.error(
                    "too_many_pending", f"at most {MAX_PENDING} unknown accounts at once", iban=iban
                )
            )
            return {"iban": iban, "mode": "refused", "sequence": None}
        connection.pending[iban] = resume
        self._pending.setdefault(iban, set()).add(connection)
        return {"iban": iban, "mode": "pending", "sequence": None}

    def _resolve_pending(self, iban: str) -> None:
        account = self.book.get(iban)
        if account is None:
            return
        for connection in self._pending.pop(iban, ()):
            resume = connection.pending.pop(iban, None)
            if connection.principal.may_watch(account.customer_id):
                self._start_watching(connection, account, resume)
            else:
                self._refuse(connection, iban)

    def _refuse(self, connection: Connection, iban: str) -> None:
        principal = connection.principal
        log.warning(
            "refused account %s to subject %s (customer %s, token id %s) from %s: "
            "it belongs to another customer",
            iban,
            principal.subject,
            principal.customer_id,
            principal.token_id,
            connection.peer,
        )
        connection.reply(
            protocol.error(
                "account_forbidden", f"account {iban} is not one of your accounts", iban=iban
            )
        )

    def drop_slow(self, connection: Connection) -> None:
        if connection.closing.done():
            return
        metrics.QUEUE_DROPS.inc()
        log.warning(
            "closing %r: %d messages wait unsent, the client stopped reading",
            connection,
            len(connection.queue),
        )
        self.unregister(connection)
        connection.request_close(CloseCode.SLOW_CONSUMER, "send queue full: client not reading")

    def _follow(self, connection: Connection, follows: Literal["own", "all"]) -> None:
        self._unfollow(connection)
        connection.follows = follows
        if follows == "all":
            self._following_all.add(connection)
        elif connection.principal.customer_id is not None:
            customer = connection.principal.customer_id
            self._following_customer.setdefault(customer, set()).add(connection)

    def _unfollow(self, connection: Connection) -> None:
        self._following_all.discard(connection)
        customer = connection.principal.customer_id
        followers = self._following_customer.get(customer) if customer is not None else None
        if followers is not None:
            followers.discard(connection)
            if not followers:
                del self._following_customer[customer]  # type: ignore[arg-type]
        connection.follows = None


def _discard(index: dict[str, set[Connection]], iban: str, connection: Connection) -> None:
    members = index.get(iban)
    if members is not None:
        members.discard(connection)
        if not members:
            del index[iban]
