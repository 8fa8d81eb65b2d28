"""Waiting on a condition instead of sleeping a guessed time: one helper for the components, the
benchmarks and the tests, built on tenacity."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_result, stop_after_delay, wait_fixed

T = TypeVar("T")


def poll(probe: Callable[[], T], *, until: Callable[[T], bool], timeout: float, every: float) -> T:
    """Calls ``probe`` now and every ``every`` seconds until ``until`` holds for what it returns,
    or ``timeout`` has passed; returns what it returned last (the caller decides what a timeout
    means). An exception of ``probe`` ends the wait."""

    def last_result(state: RetryCallState) -> T:
        assert state.outcome is not None
        return state.outcome.result()

    retrying = Retrying(
        stop=stop_after_delay(timeout),
        wait=wait_fixed(every),
        retry=retry_if_result(lambda result: not until(result)),
        retry_error_callback=last_result,
    )
    return retrying(probe)


def wait_until(condition: Callable[[], T], *, timeout: float, what: str, every: float = 0.1) -> T:
    """Returns what ``condition()`` returns as soon as it is true; TimeoutError naming ``what``
    after ``timeout`` seconds."""
    result = poll(condition, until=bool, timeout=timeout, every=every)
    if not result:
        raise TimeoutError(f"waited {timeout:g} s for {what}")
    return result
