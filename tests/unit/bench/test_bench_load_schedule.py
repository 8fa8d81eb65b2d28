from itertools import pairwise

import pytest

from bench.load import booking_due

pytestmark = pytest.mark.unit


def _schedule(rate: float, shares: int, per_share: int) -> list[float]:
    return sorted(
        booking_due(k, share, shares, rate) for share in range(shares) for k in range(per_share)
    )


def test_ten_changes_a_second_from_eight_threads_are_one_every_100_ms():
    due = _schedule(10.0, shares=8, per_share=5)
    gaps = [later - earlier for earlier, later in pairwise(due)]
    assert len(due) == 40
    assert min(gaps) == pytest.approx(0.1)
    assert max(gaps) == pytest.approx(0.1)


def test_each_thread_keeps_its_share_of_the_rate():
    due = [booking_due(k, 3, 8, 10.0) for k in range(4)]
    assert [b - a for a, b in pairwise(due)] == pytest.approx([0.8] * 3)


def test_without_a_rate_every_change_is_due_at_once():
    assert booking_due(7, 5, 8, None) == 0.0
