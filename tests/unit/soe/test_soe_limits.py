import pytest

from soe.limits import ConnectionCount, ConnectionLimits, LogBudget, TokenBucket

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_token_bucket_allows_a_burst_then_the_rate():
    clock = Clock()
    bucket = TokenBucket(per_second=2, burst=3, clock=clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.now = 0.5
    assert [bucket.take(), bucket.take()] == [True, False]
    clock.now = 100
    assert sum(bucket.take() for _ in range(10)) == 3, "idle time never saves up beyond a burst"


def test_a_log_budget_holds_lines_back_and_says_how_many():
    clock = Clock()
    budget = LogBudget(per_second=1, burst=2, clock=clock)
    assert [budget.take() for _ in range(5)] == [0, 0, None, None, None]
    clock.now = 1
    assert budget.take() == 3


def limits(**overrides: int) -> ConnectionCount:
    values = {"total": 4, "per_address": 3, "per_principal": 2, "unauthenticated": 2}
    return ConnectionCount(ConnectionLimits(**{**values, **overrides}))


def test_connections_not_signed_in_are_limited_apart():
    count = limits()
    assert count.admit("10.0.0.1") is None
    assert count.admit("10.0.0.2") is None
    assert count.admit("10.0.0.3") == "unauthenticated"
    assert count.sign_in("anna")
    assert count.admit("10.0.0.3") is None


def test_connections_are_limited_per_address_and_in_total():
    count = limits(unauthenticated=10)
    for _ in range(3):
        assert count.admit("10.0.0.1") is None
    assert count.admit("10.0.0.1") == "address"
    assert count.admit("10.0.0.2") is None
    assert count.admit("10.0.0.3") == "total"
    count.leave("10.0.0.1", None)
    assert count.admit("10.0.0.1") is None


def test_connections_are_limited_per_principal_and_given_back_on_leaving():
    count = limits(total=10, per_address=10, unauthenticated=10)
    for _ in range(3):
        count.admit("10.0.0.1")
    assert count.sign_in("anna")
    assert count.sign_in("anna")
    assert not count.sign_in("anna")
    assert count.sign_in("ben")
    count.leave("10.0.0.1", "anna")
    count.admit("10.0.0.1")
    assert count.sign_in("anna")
    assert (count.total, count.unauthenticated) == (3, 0)
