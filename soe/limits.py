"""The gateway's limits that are counted rather than sized: rates and connections.

Pure logic with an injectable clock, so the unit tests decide what time it is.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]


class TokenBucket:
    """``burst`` at once, then ``per_second`` on average."""

    def __init__(self, per_second: float, burst: int, clock: Clock = time.monotonic) -> None:
        self._rate = per_second
        self._burst = float(burst)
        self._tokens = float(burst)
        self._clock = clock
        self._last = clock()

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class LogBudget:
    """Lines a client can make the gateway write: an attacker must not be able to fill the disk or
    bury every other line. What was held back is counted and said on the next line written."""

    def __init__(self, per_second: float = 1.0, burst: int = 10, clock: Clock = time.monotonic):
        self._bucket = TokenBucket(per_second, burst, clock)
        self._held_back = 0

    def take(self) -> int | None:
        """None: stay quiet. Else write, adding how many similar lines were held back before."""
        if not self._bucket.take():
            self._held_back += 1
            return None
        held_back, self._held_back = self._held_back, 0
        return held_back


def held_back_note(held_back: int) -> str:
    return f" ({held_back} similar lines held back)" if held_back else ""


@dataclass(frozen=True)
class ConnectionLimits:
    total: int
    per_address: int
    per_principal: int
    unauthenticated: int


class ConnectionCount:
    """Open websockets of one gateway process, by address and by signed-in principal."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self.total = 0
        self.unauthenticated = 0
        self._by_address: Counter[str] = Counter()
        self._by_principal: Counter[str] = Counter()

    def admit(self, address: str) -> str | None:
        """Count a new, not yet signed-in connection; or why it may not open (nothing counted)."""
        if self.total >= self.limits.total:
            return "total"
        if self.unauthenticated >= self.limits.unauthenticated:
            return "unauthenticated"
        if self._by_address[address] >= self.limits.per_address:
            return "address"
        self.total += 1
        self.unauthenticated += 1
        self._by_address[address] += 1
        return None

    def sign_in(self, principal: str) -> bool:
        """The connection signed in as ``principal``; False (nothing counted) when it has too
        many connections already."""
        if self._by_principal[principal] >= self.limits.per_principal:
            return False
        self._by_principal[principal] += 1
        self.unauthenticated -= 1
        return True

    def leave(self, address: str, principal: str | None) -> None:
        """A connection admitted from ``address`` closed; ``principal`` if it had signed in."""
        self.total -= 1
        _decrement(self._by_address, address)
        if principal is None:
            self.unauthenticated -= 1
        else:
            _decrement(self._by_principal, principal)


def _decrement(counter: Counter[str], key: str) -> None:
    counter[key] -= 1
    if counter[key] <= 0:
        del counter[key]
