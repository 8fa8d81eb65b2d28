"""Booking balance changes through the system of record's REST API, as staff."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from bench.clerk import api_token
from kernel.settings import Settings


@dataclass(frozen=True)
class Booking:
    iban: str
    entry_id: int
    amount: int
    balance_after: int


class DepositRefused(AssertionError):
    """The system of record did not answer 201; an AssertionError so a test fails on it."""

    def __init__(self, status_code: int, body: str) -> None:
        super().__init__(f"deposit refused ({status_code}): {body[:500]}")
        self.status_code = status_code


class Teller:
    def __init__(self, config: Settings) -> None:
        self.http = httpx.Client(
            base_url=config.sor_url,
            headers={"Authorization": f"Token {api_token(config)}"},
            timeout=30,
            limits=httpx.Limits(max_connections=16),
        )

    def deposit(
        self, iban: str, minor: int, reason: str, idempotency_key: str | None = None
    ) -> Booking:
        """Books a deposit; with a key, a retry after a lost answer is answered, not rebooked."""
        response = self.http.post(
            f"/api/accounts/{iban}/deposit/",
            json={"amount": f"{minor / 100:.2f}", "reason": reason},
            headers={"Idempotency-Key": idempotency_key} if idempotency_key else None,
        )
        if response.status_code != 201:
            raise DepositRefused(response.status_code, response.text)
        entry = response.json()["entry"]
        return Booking(iban, entry["id"], entry["amount_minor"], entry["balance_after_minor"])

    def burst(
        self, ibans: list[str], changes: int, threads: int = 8, seed: int = 7, on_progress=None
    ) -> list[Booking]:
        """`changes` deposits spread at random over the accounts, booked concurrently."""
        rng = random.Random(seed)
        plan = [(rng.choice(ibans), rng.randint(1, 50_000)) for _ in range(changes)]
        bookings: list[Booking] = []

        def book(item: tuple[int, tuple[str, int]]) -> Booking:
            index, (iban, minor) = item
            booking = self.deposit(iban, minor, f"burst #{index}")
            if on_progress is not None:
                on_progress(index)
            return booking

        with ThreadPoolExecutor(threads) as pool:
            bookings.extend(pool.map(book, enumerate(plan)))
        return bookings
