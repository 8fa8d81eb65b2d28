"""The arithmetic of the benchmarks: hop delays of one event, percentiles, lag trends.

Pure functions over numbers and event dictionaries, so they are unit-tested without the stack.
Every time is epoch milliseconds from the one machine's clock.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# (name, from field, to field) in the order an event travels.
HOPS: tuple[tuple[str, str, str], ...] = (
    ("commit→captured", "committed_at", "captured_at"),
    ("captured→derived", "captured_at", "derived_at"),
    ("derived→sent", "derived_at", "sent_at"),
    ("sent→received", "sent_at", "received_at"),
)
TOTAL = ("commit→received", "committed_at", "received_at")
PERCENTILES = (50, 95, 99)
# A Debezium record per ledger entry and one per balance update: two records per change.
CDC_RECORDS_PER_CHANGE = 2


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between the closest ranks."""
    if not values:
        raise ValueError("no values to take a percentile of")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is not between 0 and 100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: Sequence[float]) -> dict[str, float | int | None]:
    """count, min, p50, p95, p99 and max; None for each figure when there are no values."""
    if not values:
        return {"count": 0, "min": None, **{f"p{q}": None for q in PERCENTILES}, "max": None}
    return {
        "count": len(values),
        "min": min(values),
        **{f"p{q}": percentile(values, q) for q in PERCENTILES},
        "max": max(values),
    }


def hop_delays(event: Mapping[str, Any]) -> dict[str, float]:
    """Each hop's delay (ms) of one received event, and the total; a hop whose timestamps are
    missing is left out rather than guessed."""
    delays = {}
    for name, start, end in (*HOPS, TOTAL):
        if event.get(start) is not None and event.get(end) is not None:
            delays[name] = event[end] - event[start]
    return delays


def hop_summaries(events: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, float | int | None]]:
    """Per hop (and the total), the summary of the delays over all events."""
    by_hop: dict[str, list[float]] = {name: [] for name, _, _ in (*HOPS, TOTAL)}
    for event in events:
        for name, delay in hop_delays(event).items():
            by_hop[name].append(delay)
    return {name: summary(values) for name, values in by_hop.items()}


@dataclass(frozen=True)
class LagTrend:
    """Whether a consumer kept up: the lag's least-squares slope against the offered rate."""

    slope: float  # records per second the lag grew by (negative: it shrank)
    first: int
    last: int
    max: int
    flat: bool


def lag_trend(
    samples: Sequence[tuple[float, int]],
    offered_records_per_s: float,
    tolerance: float = 0.05,
    bound_seconds: float = 5.0,
) -> LagTrend:
    """Samples are (seconds, lag in records). The lag is flat when it grows by less than
    `tolerance` of what arrives (the consumer derives at least 95% of the offered rate), or when
    it never exceeds `bound_seconds` of input: the committed offsets move in steps (Faust commits
    every 2.8 s), so over a short step the sawtooth alone can tilt the fit."""
    if len(samples) < 2:
        raise ValueError("at least two lag samples are needed for a trend")
    times = [t for t, _ in samples]
    lags = [lag for _, lag in samples]
    mean_t, mean_lag = sum(times) / len(times), sum(lags) / len(lags)
    spread = sum((t - mean_t) ** 2 for t in times)
    covariance = sum((t - mean_t) * (lag - mean_lag) for t, lag in samples)
    slope = covariance / spread if spread else 0.0
    bounded = max(lags) <= bound_seconds * offered_records_per_s
    flat = slope <= tolerance * offered_records_per_s or bounded
    return LagTrend(slope, lags[0], lags[-1], max(lags), flat)


def sustained(target_rate: float, achieved_rate: float, tolerance: float = 0.05) -> bool:
    """The load generator booked within `tolerance` of the rate asked for."""
    return achieved_rate >= target_rate * (1 - tolerance)


def polled_delay(received_at: float, updated_at: float) -> float:
    """How long after its commit a poller saw a change: a change is seen by the first answer
    that shows it, so the delay is the answer's arrival minus the commit."""
    return received_at - updated_at


def ratio(theirs: float | None, ours: float | None) -> float | None:
    """theirs / ours, None when either is unknown or ours is zero."""
    if theirs is None or ours is None or ours == 0:
        return None
    return theirs / ours


def cpu_percent(cpu_seconds: float, wall_seconds: float) -> float:
    """CPU time over wall time, in percent of one core (200% = both cores of this machine)."""
    if wall_seconds <= 0:
        raise ValueError("wall time must be positive")
    return 100 * cpu_seconds / wall_seconds


# A change's way to the gateway, split by the reader of the benchmark's own (bench/kafka_watch.py)
PIPELINE_HOPS = (
    "commit→captured",
    "captured→derived",
    "derived→in Kafka",
    "in Kafka→gateway read",
    "derived→gateway read",
)


def pipeline_hops(
    stamps: Mapping[tuple[str, int], tuple[float, float, float, float]],
    seen_in_kafka: Mapping[tuple[str, int], float],
) -> dict[str, list[float]]:
    """Per hop, the delays (ms) of each change once, however many clients it reached. Stamps are
    (committed, captured, derived, the gateway's sent_at); a change the benchmark's own reader did
    not see has no Kafka split."""
    hops: dict[str, list[float]] = {name: [] for name in PIPELINE_HOPS}
    for key, (committed, captured, derived, sent) in stamps.items():
        hops["commit→captured"].append(captured - committed)
        hops["captured→derived"].append(derived - captured)
        hops["derived→gateway read"].append(sent - derived)
        seen = seen_in_kafka.get(key)
        if seen is not None:
            hops["derived→in Kafka"].append(seen - derived)
            hops["in Kafka→gateway read"].append(sent - seen)
    return hops
