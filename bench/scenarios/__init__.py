"""The benchmark scenarios, one module each. Each books real changes with the load generator,
watches them arrive, and returns an Outcome (bench/report.py) with every figure and the tables to
show."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bench.report import Outcome
from bench.scenarios.compare import compare
from bench.scenarios.context import Context
from bench.scenarios.derivation import derivation
from bench.scenarios.fanout import fanout
from bench.scenarios.footprint import footprint
from bench.scenarios.latency import latency
from bench.scenarios.sustained import sustained_rate

SCENARIOS: dict[str, Callable[[Context], Awaitable[Outcome]]] = {
    "latency": latency,
    "sustained": sustained_rate,
    "fanout": fanout,
    "compare": compare,
    "footprint": footprint,
    "derivation": derivation,
}

__all__ = ["SCENARIOS", "Context"]
