"""The gateway times its full garbage collections (soe/collector.py): each pauses everything."""

import gc

import pytest

from soe import collector, metrics

pytestmark = pytest.mark.unit


def test_a_full_collection_is_timed_and_a_younger_one_is_not():
    collector.time_full_collections()
    collector.time_full_collections()  # once per process, however often asked
    assert gc.callbacks.count(collector._on_collection) == 1
    count = metrics.GC_FULL_PAUSES._sum.get(), sum(b.get() for b in metrics.GC_FULL_PAUSES._buckets)
    gc.collect(0)
    assert sum(b.get() for b in metrics.GC_FULL_PAUSES._buckets) == count[1]
    gc.collect()
    assert sum(b.get() for b in metrics.GC_FULL_PAUSES._buckets) == count[1] + 1
    assert metrics.GC_FULL_PAUSES._sum.get() > count[0]
