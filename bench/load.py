"""The load generator: real deposits booked through the system of record at a set rate.

By default it books through the service layer in-process (``sor.bank.services.deposit``, the
same code the admin and the API call), from a few processes with a few threads each: one Python
process alone cannot book 2,000 changes a second through Django, and the API path would spend
the two cores on HTTP instead of on the pipeline under test. ``via="api"`` books over the REST
API instead, with the clerk's API token. ``via="sql"`` writes the service layer's own SQL
(lock the account, insert the ledger entry, update balance and version, in one transaction)
without Django, for rates the ORM cannot reach on two cores.

The benchmark's changes go to accounts of its own customer (``bench_accounts``), so they never
land on the demo accounts or on the accounts the integration tests pick.
"""

from __future__ import annotations

import datetime
import multiprocessing
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from events.money import to_major_units
from kernel.settings import ClerkLogin, settings

BENCH_CUSTOMER_EMAIL = "bench-load@bank.local"
BENCH_CUSTOMER_NAME = "Benchmark Load"
OPENING_BALANCE = 100_000  # 1,000.00 EUR: above the default low-balance line, so no alerts
SETUP_TIMEOUT_SECONDS = 120.0  # for every worker process to set up Django before the clock runs


# The load books on the load customer's accounts in this currency only.
LOAD_CURRENCY = "EUR"


@dataclass(frozen=True)
class Account:
    id: int
    iban: str


@dataclass(frozen=True)
class LoadPlan:
    """`rate` changes per second (None: as fast as possible) for `seconds`, over `accounts`."""

    rate: float | None
    seconds: float
    accounts: tuple[Account, ...]
    label: str
    via: str = "service"  # or "api", or "sql"
    processes: int = 2
    threads: int = 4
    api_token: str | None = None
    # With no rate: stop after this many changes (or at `seconds`, whichever comes first).
    limit: int | None = None


@dataclass
class LoadResult:
    booked: int
    failed: int
    started_at: float  # epoch seconds
    ended_at: float  # when the last change was booked
    errors: list[str] = field(default_factory=list)
    cpu_seconds: float = 0.0  # the load generator's own CPU, all its processes

    @property
    def achieved_rate(self) -> float:
        return self.booked / max(self.ended_at - self.started_at, 1e-9)


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sor.settings")
    import django

    django.setup()


def bench_accounts(count: int) -> list[Account]:
    """The benchmark customer's first `count` open EUR accounts, opened now when missing."""
    setup_django()
    from django.contrib.auth import get_user_model
    from django.db import connections

    from sor.bank import services
    from sor.bank.models import Customer

    clerk = get_user_model().objects.get(username=ClerkLogin.load().username)
    customer, _ = Customer.objects.get_or_create(
        email=BENCH_CUSTOMER_EMAIL, defaults={"name": BENCH_CUSTOMER_NAME}
    )
    accounts = list(customer.accounts.filter(status="open", currency=LOAD_CURRENCY).order_by("id"))
    while len(accounts) < count:
        accounts.append(
            services.open_account(customer, "EUR", opening_balance=OPENING_BALANCE, by=clerk)
        )
    connections.close_all()  # the worker processes open their own
    return [Account(a.id, a.iban) for a in accounts[:count]]


def run_load(plan: LoadPlan, on_progress: Callable[[int], None] | None = None) -> LoadResult:
    """Books the plan's changes from `plan.processes` worker processes; blocks until done."""
    context = multiprocessing.get_context("spawn")  # a clean Django per process, no forked loop
    counter = context.Value("q", 0)
    failures = context.Value("q", 0)
    cpu = context.Value("d", 0.0)
    last_booked = context.Value("d", 0.0)
    errors = context.Queue()
    ready = context.Semaphore(0)
    start = context.Value("d", 0.0)  # set once every worker is ready; the clock starts then
    go = context.Event()
    workers = [
        context.Process(
            target=_worker,
            args=(plan, index, (ready, go, start), (counter, last_booked), failures, errors, cpu),
            daemon=True,
        )
        for index in range(plan.processes)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        if not ready.acquire(timeout=SETUP_TIMEOUT_SECONDS):
            for worker in workers:
                worker.terminate()
            raise RuntimeError(
                f"a load worker was not ready within {SETUP_TIMEOUT_SECONDS:.0f}s; "
                "can it reach the database (BANK_DB_*)?"
            )
    start.value = time.time()
    go.set()
    while any(worker.is_alive() for worker in workers):
        if on_progress is not None:
            on_progress(counter.value)
        time.sleep(0.25)
    if on_progress is not None:
        on_progress(counter.value)
    messages = []
    while not errors.empty():
        messages.append(errors.get())
    ended = last_booked.value or time.time()
    crashed = [w.exitcode for w in workers if w.exitcode]
    if crashed:
        messages.append(f"{len(crashed)} load worker process(es) exited with {crashed}")
    return LoadResult(
        counter.value, failures.value, start.value, ended, messages[:10], cpu_seconds=cpu.value
    )


def _worker(plan: LoadPlan, index: int, clock, booked, failures, errors, cpu) -> None:
    bookers = {"service": _ServiceBooker, "sql": _SqlBooker}
    booker = bookers[plan.via]() if plan.via in bookers else _ApiBooker(plan.api_token)
    ready, go, start_value = clock
    ready.release()
    go.wait()
    cpu_at_start = time.process_time()
    start = start_value.value
    threads = [
        threading.Thread(
            target=_book_share,
            args=(plan, index * plan.threads + t, booker, start, booked, failures, errors),
        )
        for t in range(plan.threads)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with cpu.get_lock():
        cpu.value += time.process_time() - cpu_at_start


def booking_due(k: int, share: int, shares: int, rate: float | None) -> float:
    """Seconds after the start at which one thread's k-th change is due. The threads' schedules
    are interleaved: at 10 changes/s one change every 100 ms, not all the threads' changes at
    once every 800 ms (a burst of 8 is not light load: its changes queue behind each other in
    the database, the connector and the worker's transactions). No rate: at once."""
    if not rate:
        return 0.0
    interval = shares / rate
    return (k + share / shares) * interval


def _book_share(plan: LoadPlan, share: int, booker, start, booked, failures, errors) -> None:
    """One thread's part: an equal share of the rate, on a fixed schedule. A thread behind its
    schedule books at once (no sleep) until it has caught up, so the rate is kept when it can be."""
    shares = plan.processes * plan.threads
    rng = random.Random(f"{plan.label}-{share}")
    limit = None if plan.limit is None else plan.limit // shares + (share < plan.limit % shares)
    end = start + plan.seconds
    k = 0
    while limit is None or k < limit:
        due = start + booking_due(k, share, shares, plan.rate)
        if due >= end or time.time() >= end:
            break
        time.sleep(max(0.0, due - time.time()))
        account = rng.choice(plan.accounts)
        try:
            booker.book(account, rng.randint(1, 5_000), f"{plan.label} #{share}-{k}")
            counter, last_booked = booked
            with counter.get_lock():
                counter.value += 1
                last_booked.value = max(last_booked.value, time.time())
        except Exception as error:  # counted and reported: the run goes on
            with failures.get_lock():
                failures.value += 1
                if failures.value <= 10:
                    errors.put(f"{type(error).__name__}: {error}")
        k += 1
    booker.close()


class _ServiceBooker:
    """Books through the service layer; Django's connection is per thread."""

    def __init__(self) -> None:
        setup_django()
        from django.contrib.auth import get_user_model

        from sor.bank import services

        self._deposit = services.deposit
        self._clerk = get_user_model().objects.get(username=ClerkLogin.load().username)

    def book(self, account: Account, minor: int, reason: str) -> None:
        self._deposit(account.id, minor, reason=reason, by=self._clerk)

    def close(self) -> None:
        from django.db import connection

        connection.close()  # this thread's


class _ApiBooker:
    """Books over the REST API with the clerk's token."""

    def __init__(self, token: str | None) -> None:
        if token is None:
            raise ValueError("booking via the API needs an API token (bench.clerk.api_token)")
        self._http = httpx.Client(
            base_url=settings().sor_url, headers={"Authorization": f"Token {token}"}, timeout=30
        )

    def book(self, account: Account, minor: int, reason: str) -> None:
        response = self._http.post(
            f"/api/accounts/{account.iban}/deposit/",
            json={"amount": to_major_units(minor, LOAD_CURRENCY), "reason": reason},
        )
        if response.status_code != 201:
            raise RuntimeError(f"deposit refused with {response.status_code}: {response.text}")

    def close(self) -> None:
        """The client is shared by the process's threads and ends with it."""


class _SqlBooker:
    """Books with the service layer's SQL, one connection per thread: the shape of
    ``sor.bank.services.deposit`` (one transaction, the account row locked first)."""

    LOCK = "SELECT balance FROM account WHERE id = %s FOR UPDATE"
    ENTRY = (
        "INSERT INTO ledger_entry (account_id, amount, balance_after, kind, reason, "
        "created_by_username, created_at) VALUES (%s, %s, %s, 'deposit', %s, %s, %s)"
    )
    BALANCE = (
        "UPDATE account SET balance = %s, version = version + 1, updated_at = %s WHERE id = %s"
    )

    def __init__(self) -> None:
        self._local = threading.local()
        self._clerk = ClerkLogin.load().username

    def _connection(self):
        connection = getattr(self._local, "connection", None)
        if connection is None:
            from bench import bank_db

            connection = bank_db.connect(settings(), autocommit=False)
            self._local.connection = connection
        return connection

    def book(self, account: Account, minor: int, reason: str) -> None:
        connection = self._connection()
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        try:
            with connection.cursor() as cursor:
                cursor.execute(self.LOCK, (account.id,))
                (balance,) = cursor.fetchone()
                after = balance + minor
                cursor.execute(self.ENTRY, (account.id, minor, after, reason, self._clerk, now))
                cursor.execute(self.BALANCE, (after, now, account.id))
            connection.commit()
        except Exception:
            connection.rollback()
            raise

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
