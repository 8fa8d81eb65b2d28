"""Telling a record Faust skipped from a redelivery, by the next offset expected per partition."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from soi.gaps import Skipped, skipped_before

pytestmark = pytest.mark.unit


@dataclass
class Record:
    offset: int
    partition: int = 3
    topic: str = "sor.bank.money"
    key: bytes | None = None
    value: bytes | None = None


def test_the_next_record_expected_is_no_gap():
    assert skipped_before(41, Record(41)) is None


def test_a_record_further_on_reveals_the_skipped_range():
    gap = skipped_before(41, Record(44))
    assert gap == Skipped(partition=3, first=41, end=44)
    assert len(gap) == 3


def test_a_redelivered_record_is_not_a_gap():
    assert skipped_before(41, Record(12)) is None
    assert skipped_before(41, Record(40)) is None


def test_before_the_first_record_there_is_nothing_to_compare_with():
    assert skipped_before(None, Record(500)) is None
