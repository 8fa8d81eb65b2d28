"""The clerks' side: deposits booked at a steady rate over the REST API while a fault strikes.

Every deposit carries an Idempotency-Key, so a request whose answer was lost (the system of
record or its database down) is retried without booking it twice. What counts as booked is not
what the clerks heard but what the database holds under those keys (see `bank_db`); the load
only remembers when each change was first asked for, to time the recovery.
"""

from __future__ import annotations

import itertools
import logging
import random
import threading
import time
from dataclasses import dataclass, field

import httpx

from bench.teller import Booking, DepositRefused, Teller
from kernel.settings import Settings

log = logging.getLogger(__name__)

RETRY_PAUSE_SECONDS = 0.5


@dataclass
class Ledger:
    """What the clerks saw: confirmed bookings with the time each was first asked for."""

    confirmed: list[Booking] = field(default_factory=list)
    asked_at: dict[int, float] = field(default_factory=dict)  # ledger entry id -> monotonic
    failed_attempts: int = 0
    refused: list[str] = field(default_factory=list)  # answers that retrying cannot change
    abandoned: int = 0  # still unanswered when the load stopped: booked or not, the DB says


class DepositLoad:
    """`rate` deposits a second, spread at random over `ibans`, by `clerks` threads."""

    def __init__(
        self, config: Settings, ibans: list[str], key_prefix: str, rate: float, clerks: int = 4
    ) -> None:
        self.teller = Teller(config)
        self.ibans, self.key_prefix, self.rate, self.clerks = ibans, key_prefix, rate, clerks
        self.ledger = Ledger()
        self._numbers = itertools.count()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._started = 0.0

    def start(self) -> None:
        self._started = time.monotonic()
        self._threads = [
            threading.Thread(target=self._clerk, args=(seed,), name=f"clerk-{seed}", daemon=True)
            for seed in range(self.clerks)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> Ledger:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)
        self.teller.http.close()
        return self.ledger

    def asked_since(self, moment: float) -> list[int]:
        """Ledger entries of the confirmed bookings first asked for at or after `moment`."""
        with self._lock:
            return [entry for entry, asked in self.ledger.asked_at.items() if asked >= moment]

    def _clerk(self, seed: int) -> None:
        rng = random.Random(seed)
        while not self._stop.is_set():
            with self._lock:
                number = next(self._numbers)
            due = self._started + number / self.rate
            if self._stop.wait(max(0.0, due - time.monotonic())):
                return
            self._book(number, rng.choice(self.ibans), rng.randint(1, 50_000))

    def _book(self, number: int, iban: str, minor: int) -> None:
        key, asked_at = f"{self.key_prefix}{number}", time.monotonic()
        while True:
            try:
                booking = self.teller.deposit(iban, minor, f"fault drill #{number}", key)
            except (httpx.TransportError, DepositRefused) as error:
                if isinstance(error, DepositRefused) and error.status_code < 500:
                    with self._lock:
                        self.ledger.refused.append(f"{key}: {error}")
                    return
                with self._lock:
                    self.ledger.failed_attempts += 1
                if self._stop.wait(RETRY_PAUSE_SECONDS):
                    with self._lock:
                        self.ledger.abandoned += 1
                    return
                continue
            with self._lock:
                self.ledger.confirmed.append(booking)
                self.ledger.asked_at[booking.entry_id] = asked_at
            return
