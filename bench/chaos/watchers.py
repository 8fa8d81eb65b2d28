"""The customers' side: live-feed clients watching the accounts under load while a fault strikes.

A *steady* watcher stays connected; when the gateway drops it, it reconnects at once and resumes
with its last sequences, as the dashboard does. A *resuming* watcher also steps away on purpose
for a while and comes back with `resume`. Each keeps, per account, the balance and sequence it
shows, and notes every gap, repeat and broken chain (an event that does not start where the
previous one ended). They run on one asyncio loop in a thread of their own.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass, field
from typing import Any

import websockets

from bench.live_feed import LiveFeed
from kernel.settings import Settings
from kernel.wait import poll

RECONNECT_PAUSE_SECONDS = 0.5


@dataclass
class AccountView:
    sequence: int
    balance: int


@dataclass
class WatcherReport:
    name: str
    kind: str  # steady or resuming
    views: dict[str, AccountView] = field(default_factory=dict)
    gaps: list[str] = field(default_factory=list)
    repeats: int = 0  # a sequence shown again
    chain_breaks: list[str] = field(default_factory=list)
    fresh_snapshots: int = 0  # resume refused: the gateway no longer held the missed changes
    reconnects: int = 0  # connections lost without asking
    resumes: int = 0  # connections opened with `resume`, after a loss or a step away
    not_ready: int = 0  # answers "not ready yet, come back" while the gateway caught up
    problems: list[str] = field(default_factory=list)
    first_seen: dict[int, float] = field(default_factory=dict)  # ledger entry id -> monotonic
    # Seconds from each connection lost without asking to being subscribed again (through the
    # balancer: on another gateway), the reconnect pause included, as a customer waits.
    outages: list[float] = field(default_factory=list)


class Watcher:
    def __init__(self, config: Settings, token: str, ibans: list[str], report: WatcherReport):
        self.config, self.token, self.ibans, self.report = config, token, ibans, report
        self.subscribed = asyncio.Event()
        self.back = asyncio.Event()
        self.back.set()
        self.feed: LiveFeed | None = None
        self.stopping = False
        self.lost_at: float | None = None

    async def watch(self) -> None:
        while not self.stopping:
            await self.back.wait()
            resume = {iban: view.sequence for iban, view in self.report.views.items()}
            if resume:
                self.report.resumes += 1
            try:
                self.feed = await LiveFeed.open(self.config, self.token, self.ibans, resume)
                while not self.stopping:
                    await self._take(await self.feed.receive())
            except (OSError, websockets.ConnectionClosed, websockets.InvalidHandshake):
                pass  # the gateway is down, restarting or not ready yet: come back
            finally:
                self.feed = None
            if self.stopping:
                return
            if self.back.is_set():
                self.report.reconnects += 1
                if self.lost_at is None:
                    self.lost_at = time.monotonic()
            await asyncio.sleep(RECONNECT_PAUSE_SECONDS)

    async def step_away(self, seconds: float) -> None:
        self.back.clear()
        if self.feed is not None:
            await self.feed.close()
        await asyncio.sleep(seconds)
        self.back.set()

    async def stop(self) -> None:
        if self.lost_at is not None:
            away = time.monotonic() - self.lost_at
            self.report.problems.append(f"lost its connection {away:.0f} s ago, never back")
        self.stopping = True
        self.back.set()
        if self.feed is not None:
            await self.feed.close()

    async def _take(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "balance_changed":
            self._changed(message)
        elif kind == "snapshot":
            self._snapshot(message)
        elif kind == "subscribed":
            modes = {a["mode"] for a in message["accounts"]}
            if modes - {"snapshot", "resumed", "fresh_snapshot"}:
                self.report.problems.append(f"subscribed with modes {sorted(modes)}")
            if self.lost_at is not None:
                self.report.outages.append(round(time.monotonic() - self.lost_at, 2))
                self.lost_at = None
            self.subscribed.set()
        elif kind == "ping":
            assert self.feed is not None
            await self.feed.send({"type": "pong", "ts": message.get("ts")})
        elif kind == "error" and message.get("code") == "not_ready":
            self.report.not_ready += 1  # the gateway catching up after a restart: come back
        elif kind == "error":
            self.report.problems.append(f"{message.get('code')}: {message.get('message')}")

    def _snapshot(self, message: dict[str, Any]) -> None:
        iban, view = message["iban"], self.report.views.get(message["iban"])
        if view is not None and message.get("fresh"):
            self.report.fresh_snapshots += 1
        if view is not None and message["sequence"] < view.sequence:
            self.report.problems.append(
                f"{iban}: snapshot at seq {message['sequence']} after seq {view.sequence}"
            )
        self.report.views[iban] = AccountView(message["sequence"], message["balance"])

    def _changed(self, event: dict[str, Any]) -> None:
        iban, sequence = event["iban"], event["sequence"]
        view = self.report.views.get(iban)
        if view is None:
            self.report.problems.append(f"{iban}: seq {sequence} before any snapshot")
            view = AccountView(sequence - 1, event["old_balance"])
        if sequence <= view.sequence:
            self.report.repeats += 1
            return
        if sequence > view.sequence + 1:
            self.report.gaps.append(f"{iban}: seq {view.sequence} then {sequence}")
        elif event["old_balance"] != view.balance:
            self.report.chain_breaks.append(
                f"{iban}: seq {sequence} starts at {event['old_balance']}, shown {view.balance}"
            )
        self.report.views[iban] = AccountView(sequence, event["new_balance"])
        if event.get("ledger_entry_id") is not None:
            self.report.first_seen.setdefault(event["ledger_entry_id"], time.monotonic())


class Audience:
    """`steady` and `resuming` watchers of the same accounts, on a loop in their own thread."""

    def __init__(
        self, config: Settings, token: str, ibans: list[str], steady: int, resuming: int
    ) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="audience", daemon=True)
        kinds = ["steady"] * steady + ["resuming"] * resuming
        self.watchers = [
            Watcher(config, token, ibans, WatcherReport(f"{kind}-{n}", kind))
            for n, kind in enumerate(kinds)
        ]
        self.ibans = ibans
        self._tasks: list[tuple[Watcher, Future]] = []

    def _run(self, coroutine: Any, timeout: float | None = None) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def start(self, timeout: float = 60) -> None:
        """Connects the watchers one after the other, steady ones first, and returns once each
        shows every account. One at a time, the balancer's `leastconn` gives each gateway of
        several a steady watcher (the next goes to the gateway with fewer clients): a killed
        gateway always has a steady watcher to move to another, whichever is killed."""
        self.thread.start()
        deadline = time.monotonic() + timeout
        for watcher in sorted(self.watchers, key=lambda w: w.report.kind != "steady"):
            self._tasks.append(
                (watcher, asyncio.run_coroutine_threadsafe(watcher.watch(), self.loop))
            )
            left = max(0.0, deadline - time.monotonic())
            try:
                self._run(asyncio.wait_for(watcher.subscribed.wait(), left), left + 5)
            except TimeoutError:
                self.stop()
                raise TimeoutError(
                    f"the live feed did not answer every watcher in {timeout:.0f}s"
                ) from None

    def step_away(self, seconds: float) -> None:
        """The resuming watchers disconnect now and come back after `seconds` (not waited for)."""
        for watcher in self.watchers:
            if watcher.report.kind == "resuming":
                asyncio.run_coroutine_threadsafe(watcher.step_away(seconds), self.loop)

    def reports(self) -> list[WatcherReport]:
        return [w.report for w in self.watchers]

    def wait_until_showing(self, balances: dict[str, int], timeout: float) -> None:
        """Waits (up to `timeout`) until every watcher shows these balances; never raises: what
        a watcher shows in the end is judged by the verdict."""
        poll(
            lambda: all(
                all(_shown(w.report, iban) == balance for iban, balance in balances.items())
                for w in self.watchers
            ),
            until=bool,
            timeout=timeout,
            every=0.5,
        )

    def stop(self) -> list[WatcherReport]:
        """Closes every watcher (once; later calls only return the reports)."""
        if self.loop.is_closed():
            return self.reports()
        for watcher in self.watchers:
            self._run(watcher.stop(), 15)
        for watcher, task in self._tasks:
            task.cancel()  # one caught between two connections ends here
            try:
                task.result(15)
            except CancelledError:
                pass
            except Exception as error:  # a crashed watcher is a finding, not the end of the round
                watcher.report.problems.append(f"the watcher crashed: {error!r}")
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(15)
        self.loop.close()
        return self.reports()


def _shown(report: WatcherReport, iban: str) -> int | None:
    view = report.views.get(iban)
    return view.balance if view else None
