"""What every scenario shares: the run's settings (Context), booking with a progress bar, and
waiting for the last receipts."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from rich.progress import Progress, TaskID

from bench.clerk import live_token
from bench.clients import FeedClient
from bench.hops import TOTAL, hop_delays
from bench.load import Account, LoadPlan, LoadResult, run_load
from bench.report import ms
from kernel.settings import Settings

QUIET_SECONDS = 2.0  # the tail of a phase: wait until nothing new arrived for this long


@dataclass
class Context:
    config: Settings
    accounts: list[Account]
    quick: bool
    progress: Progress
    via: str = "sql"
    processes: int = 2
    threads: int = 4
    api_token: str | None = None
    rates: list[float] = field(default_factory=list)
    step_seconds: float = 60.0
    fanout: list[int] = field(default_factory=list)
    fanout_shapes: list[str] = field(default_factory=lambda: ["broadcast", "spread"])
    client_processes: int = 4
    gateway_env: dict[str, str] = field(default_factory=dict)
    profile_gateway: bool = False
    footprint_rate: float | None = None
    replay_workers: int = 1
    replay_events: int | None = None
    derivation_burst: int | None = None

    @property
    def ws_url(self) -> str:
        return self.config.soe_url.replace("http", "ws", 1) + "/ws"

    async def watching(
        self, receipts: list[dict[str, Any]], ibans: list[str], **options: Any
    ) -> FeedClient:
        """A client of the stack's gateway, signed in as the clerk and watching `ibans`; what it
        receives goes into `receipts`."""
        client = FeedClient(
            self.ws_url, self.config.soe_url, live_token(self.config), receipts, ibans, **options
        )
        await client.open()
        return client

    def seconds(self, full: float, quick: float) -> float:
        return quick if self.quick else full

    def task(self, description: str, total: float | None) -> TaskID:
        return self.progress.add_task(description, total=total)

    def done(self, task: TaskID) -> None:
        self.progress.update(task, visible=False)

    def plan(
        self, rate: float | None, seconds: float, accounts: list[Account], label: str, **extra: Any
    ) -> LoadPlan:
        return LoadPlan(
            rate=rate,
            seconds=seconds,
            accounts=tuple(accounts),
            label=label,
            via=self.via,
            processes=self.processes,
            threads=self.threads,
            api_token=self.api_token,
            **extra,
        )

    def load_settings(self) -> dict[str, Any]:
        how = {"service": "service layer in-process", "sql": "the service layer's SQL"}.get(
            self.via, "REST API"
        )
        return {
            "booked_via": f"{how}, {self.processes} processes x {self.threads} threads",
            "accounts": len(self.accounts),
        }


async def book(ctx: Context, plan: LoadPlan) -> LoadResult:
    """Runs the load plan in worker processes, with a progress bar; the event loop stays free
    for the clients."""
    total = plan.limit or (plan.rate * plan.seconds if plan.rate else None)
    task = ctx.task(f"booking: {plan.label}", total)
    result = await asyncio.to_thread(
        run_load, plan, lambda booked: ctx.progress.update(task, completed=booked)
    )
    ctx.done(task)
    return result


async def wait_quiet(sink: list, expected: int | None = None, limit: float = 30.0) -> None:
    """Until `expected` receipts are in, or nothing new arrived for QUIET_SECONDS."""
    deadline = time.monotonic() + limit
    seen, since = len(sink), time.monotonic()
    while time.monotonic() < deadline:
        if expected is not None and len(sink) >= expected:
            return
        await asyncio.sleep(0.2)
        if len(sink) != seen:
            seen, since = len(sink), time.monotonic()
        elif time.monotonic() - since > QUIET_SECONDS:
            return


def total_delays(receipts: list[dict[str, Any]]) -> list[float]:
    return [d[TOTAL[0]] for d in map(hop_delays, receipts) if TOTAL[0] in d]


def hop_rows(hops: dict[str, dict[str, Any]]) -> list[list[str]]:
    return [
        [name, str(s["count"]), ms(s["p50"]), ms(s["p95"]), ms(s["p99"]), ms(s["max"])]
        for name, s in hops.items()
    ]


HOP_COLUMNS = ["hop", "events", "p50 ms", "p95 ms", "p99 ms", "max ms"]
