"""The hub that fans events out to the connections watching them (soe/connection.py): each
change's frame built once and offered to every watcher, written straight to its socket or
appended to its bounded queue; and what each connection subscribes to."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Literal

from soe import metrics
from soe.accounts import Account, AccountBook, Event, StateChange
from soe.connection import Connection
from soe.fan_out_log import FanOutLog
from soe.limits import LogBudget, held_back_note
from soe.messages import (
    AccountRemoved,
    AccountStatus,
    Alert,
    BalanceChanged,
    Error,
    Found,
    Snapshot,
    Subscribed,
    SubscribedAccount,
    SubscribeMode,
    Unsubscribed,
)
from soe.protocol import Find, Subscribe
from soe.send_queue import Frame
from soe.write_batch import WriteBatch

log = logging.getLogger(__name__)

MAX_PENDING = 100
# How long a resume from a sequence this gateway has not read yet is held (see Hub._hold).
RESUME_AHEAD_SECONDS = 10.0
# Shared by every connection: a crowd of refused requests must not flood the log either.
REFUSAL_LOG = LogBudget()


class Hub:
    def __init__(
        self,
        book: AccountBook,
        snapshot_history: int,
        fan_outs: FanOutLog | None = None,
        resume_ahead_seconds: float = RESUME_AHEAD_SECONDS,
    ) -> None:
        self.book = book
        self.fan_outs = fan_outs if fan_outs is not None else FanOutLog()
        self._snapshot_history = snapshot_history
        self._resume_ahead_seconds = resume_ahead_seconds
        self._connections: set[Connection] = set()
        # Open while the feed handles a batch of Kafka records (soe/feed.py).
        self.writes = WriteBatch()
        self._by_iban: dict[str, set[Connection]] = {}
        self._following_customer: dict[int, set[Connection]] = {}
        self._following_all: set[Connection] = set()
        self._pending: dict[str, set[Connection]] = {}
        # Called per connection that arrives (soe/collector.py freezes what lives once arrivals
        # settle) and per connection that leaves (soe/memory.py gives its memory back).
        self.on_arrival: Callable[[], None] | None = None
        self.on_departure: Callable[[], None] | None = None

    def __len__(self) -> int:
        return len(self._connections)

    def register(self, connection: Connection) -> None:
        connection.writes = self.writes
        self._connections.add(connection)
        metrics.CONNECTIONS.set(len(self._connections))
        if self.on_arrival:
            self.on_arrival()

    def connections(self) -> list[Connection]:
        """Every connection now, as a list the caller may walk while connections come and go."""
        return list(self._connections)

    def unregister(self, connection: Connection) -> None:
        self._connections.discard(connection)
        for iban in connection.watching:
            _discard(self._by_iban, iban, connection)
        connection.watching.clear()
        for iban in connection.pending:
            _discard(self._pending, iban, connection)
        connection.pending.clear()
        connection.ahead = None
        self._unfollow(connection)
        metrics.CONNECTIONS.set(len(self._connections))
        if self.on_departure is not None:
            self.on_departure()

    def close_all(self, code: int, reason: str) -> None:
        for connection in list(self._connections):
            connection.request_close(code, reason)

    def subscribe(self, connection: Connection, request: Subscribe) -> None:
        principal = connection.principal
        if request.all:
            if not principal.staff:
                connection.refuse("forbidden", "only staff may watch all accounts")
                return
            self._follow(connection, "all")
            accounts = [account.iban for account in self.book.all()]
        elif request.accounts is None:
            if principal.staff or principal.customer_id is None:
                connection.refuse("bad_request", "a staff token must name accounts or set all")
                return
            self._follow(connection, "own")
            accounts = [account.iban for account in self.book.owned_by(principal.customer_id)]
        else:
            accounts = list(dict.fromkeys(request.accounts))
        started, not_yours = [], []
        for iban in accounts:
            account = self.book.get(iban)
            resume = request.resume.get(iban)
            if account is not None and principal.may_watch(account.customer_id):
                started.append(self._start_watching(connection, account, resume))
            else:
                # Unknown, or another customer's: answered alike, on the same path, so the
                # answer never tells whether an IBAN exists.
                started.append(self._wait_for(connection, iban, resume))
                not_yours.append(iban)
            if connection.closing.done():
                return  # the answer did not fit in the send queue
        refused = sum(1 for answer in started if answer.mode == "refused")
        if refused:
            message = f"at most {MAX_PENDING} unknown accounts at once; {refused} refused"
            connection.send(Error(code="too_many_pending", message=message))
        connection.send(Subscribed(accounts=started))
        if not_yours and not principal.staff:
            self._refused(connection, not_yours)

    def find(self, connection: Connection, request: Find) -> None:
        """A page of a staff member's search; the client then subscribes to what it shows."""
        if not connection.principal.staff:
            connection.refuse("forbidden", "only staff may search the accounts")
            return
        found = self.book.find(request.query)
        start = (request.page - 1) * request.page_size
        page = found[start : start + request.page_size]
        connection.send(
            Found(
                query=request.query,
                page=request.page,
                page_size=request.page_size,
                total=len(found),
                accounts=[account.iban for account in page],
            )
        )

    def unsubscribe(self, connection: Connection, ibans: list[str]) -> None:
        for iban in ibans:
            connection.watching.discard(iban)
            connection.sent_sequence.pop(iban, None)
            _forget_ahead(connection, iban)
            _discard(self._by_iban, iban, connection)
            if iban in connection.pending:
                del connection.pending[iban]
                _discard(self._pending, iban, connection)
        connection.send(Unsubscribed(accounts=ibans))

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
        frame = Frame.of(BalanceChanged.of(event))
        owner = event.get("customer_id")
        queued = 0
        for connection in list(watchers):
            if connection.sent_sequence.get(iban, -1) >= sequence:
                continue
            if not connection.principal.may_watch(owner):
                self._stop_watching(connection, iban, "the account changed owner")
                continue
            connection.sent_sequence[iban] = sequence
            if connection.offer(frame):
                queued += 1
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
            frame = Frame.of(AccountStatus.of(account))
            for connection in list(self._by_iban.get(account.iban, ())):
                connection.offer(frame)

    def publish_removed(self, account: Account) -> None:
        for connection in list(self._by_iban.get(account.iban, ())):
            self._stop_watching(connection, account.iban, "the account was deleted")

    def publish_alert(self, alert: Event) -> None:
        watchers = self._by_iban.get(alert["iban"])
        if not watchers:
            return
        frame = Frame.of(Alert.of(alert))
        for connection in list(watchers):
            if connection.principal.may_watch(alert.get("customer_id")):
                connection.offer(frame)

    def _start_watching(
        self, connection: Connection, account: Account, resume_from: int | None
    ) -> SubscribedAccount:
        iban = account.iban
        _forget_ahead(connection, iban)
        if resume_from is not None and resume_from > account.sequence:
            return self._hold(connection, account, resume_from)
        missed = None if resume_from is None else self.book.missed_since(account, resume_from)
        replays = [Frame.of(BalanceChanged.of(event, replayed=True)) for event in missed or ()]
        if missed is not None and connection.queue.has_room(
            len(replays), sum(frame.size for frame in replays)
        ):
            for frame in replays:
                connection.offer(frame)
            connection.sent_sequence[iban] = missed[-1]["sequence"] if missed else resume_from
            mode: SubscribeMode = "resumed"
        else:
            # No resume asked; or the history lacks some changes; or the changes would not fit
            # in the send queue: in each case the client replaces what it has with a snapshot.
            fresh = resume_from is not None
            snapshot = Snapshot.of(account, history_limit=self._snapshot_history, fresh=fresh)
            connection.send(snapshot)
            connection.sent_sequence[iban] = account.sequence
            mode = "fresh_snapshot" if fresh else "snapshot"
        connection.watching.add(iban)
        self._by_iban.setdefault(iban, set()).add(connection)
        return SubscribedAccount(iban=iban, mode=mode, sequence=connection.sent_sequence[iban])

    def _hold(
        self, connection: Connection, account: Account, resume_from: int
    ) -> SubscribedAccount:
        """The client has seen changes this gateway has not read yet: another gateway, ahead of
        this one, served it until it died. Both read the same topics, so this one reads them
        too, a moment later: the client gets every change after its sequence as it is read,
        live, and none twice. A sequence still unread after the wait is one no gateway will
        ever read (a client's mistake, or a bank started afresh): then a fresh snapshot
        (``settle_ahead``)."""
        iban = account.iban
        connection.sent_sequence[iban] = resume_from
        if connection.ahead is None:
            connection.ahead = {}
        connection.ahead[iban] = (resume_from, time.monotonic() + self._resume_ahead_seconds)
        connection.watching.add(iban)
        self._by_iban.setdefault(iban, set()).add(connection)
        return SubscribedAccount(iban=iban, mode="resumed", sequence=resume_from)

    def settle_ahead(self, connection: Connection, now: float) -> None:
        """Ends the holds of ``_hold``: those this gateway has caught up with quietly, those
        past their deadline with a fresh snapshot (the client replaces what it shows)."""
        for iban, (sequence, deadline) in list((connection.ahead or {}).items()):
            account = self.book.get(iban)
            if account is None or iban not in connection.watching or account.sequence >= sequence:
                _forget_ahead(connection, iban)
            elif now >= deadline:
                _forget_ahead(connection, iban)
                log.info(
                    "%r resumed %s from sequence %d, never read here (at %d): fresh snapshot",
                    connection,
                    iban,
                    sequence,
                    account.sequence,
                )
                snapshot = Snapshot.of(account, history_limit=self._snapshot_history, fresh=True)
                connection.sent_sequence[iban] = account.sequence
                connection.send(snapshot)

    def _stop_watching(self, connection: Connection, iban: str, reason: str) -> None:
        connection.watching.discard(iban)
        connection.sent_sequence.pop(iban, None)
        _forget_ahead(connection, iban)
        _discard(self._by_iban, iban, connection)
        connection.send(AccountRemoved(iban=iban, reason=reason))

    def _wait_for(self, connection: Connection, iban: str, resume: int | None) -> SubscribedAccount:
        """An account the client may not watch now: one the gateway has not read yet (just
        opened, or never heard of), or another customer's. Decided when it appears or changes
        owner; until then nothing is sent about it."""
        if iban not in connection.pending and len(connection.pending) >= MAX_PENDING:
            return SubscribedAccount(iban=iban, mode="refused", sequence=None)
        connection.pending[iban] = resume
        self._pending.setdefault(iban, set()).add(connection)
        return SubscribedAccount(iban=iban, mode="pending", sequence=None)

    def _resolve_pending(self, iban: str) -> None:
        account = self.book.get(iban)
        if account is None:
            return
        for connection in list(self._pending.get(iban, ())):
            # Another customer's account stays pending, in silence: an answer now would tell the
            # client that the IBAN exists.
            if connection.principal.may_watch(account.customer_id):
                resume = connection.pending.pop(iban, None)
                _discard(self._pending, iban, connection)
                self._start_watching(connection, account, resume)

    def _refused(self, connection: Connection, ibans: list[str]) -> None:
        """A customer asked for accounts that are not (yet) theirs: one error toward the close
        per message, however many accounts it named, and a log line unless too many were
        written lately."""
        connection.count_error()
        held_back = REFUSAL_LOG.take()
        if held_back is None:
            return
        principal = connection.principal
        log.warning(
            "subject %s (customer %s, token id %s) from %s asked for %d accounts that are "
            "unknown or not theirs (%s)%s",
            principal.subject,
            principal.customer_id,
            principal.token_id,
            connection.peer,
            len(ibans),
            ", ".join(ibans[:3]) + (", ..." if len(ibans) > 3 else ""),
            held_back_note(held_back),
        )

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


def _forget_ahead(connection: Connection, iban: str) -> None:
    if connection.ahead is not None:
        connection.ahead.pop(iban, None)
        if not connection.ahead:
            connection.ahead = None


def _discard(index: dict[str, set[Connection]], iban: str, connection: Connection) -> None:
    members = index.get(iban)
    if members is not None:
        members.discard(connection)
        if not members:
            del index[iban]
