"""--since takes a duration ago, an ISO time or epoch milliseconds."""

from __future__ import annotations

import pytest

from ops.consume import parse_since
from ops.errors import OpsError

pytestmark = pytest.mark.unit

NOW = 1_800_000_000_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", NOW - 90_000),
        ("10m", NOW - 600_000),
        ("2h", NOW - 7_200_000),
        ("1d", NOW - 86_400_000),
        ("1.5h", NOW - 5_400_000),
        ("250ms", NOW - 250),
        ("1795460151000", 1_795_460_151_000),
        ("2026-11-23T19:01:49", 1_795_460_509_000),
        ("2026-11-23T20:01:49+01:00", 1_795_460_509_000),
    ],
)
def test_times_are_read_as_epoch_milliseconds(text, expected):
    assert parse_since(text, now_ms=NOW) == expected


def test_a_time_that_is_not_one_says_what_is_accepted():
    with pytest.raises(OpsError) as raised:
        parse_since("yesterday", now_ms=NOW)

    assert "--since 'yesterday' is not a time" in str(raised.value)
    assert "10m" in str(raised.value)
