import pytest

from bench.hops import (
    TOTAL,
    cpu_percent,
    hop_delays,
    hop_summaries,
    lag_trend,
    percentile,
    pipeline_hops,
    polled_delay,
    ratio,
    summary,
    sustained,
)

pytestmark = pytest.mark.unit

RECEIPT = {
    "committed_at": 1_000,
    "captured_at": 1_030,
    "derived_at": 1_045,
    "sent_at": 1_050,
    "received_at": 1_052,
}


def test_the_median_of_an_odd_count_is_the_middle_value():
    assert percentile([5, 1, 3], 50) == 3


def test_a_percentile_between_two_ranks_is_interpolated():
    assert percentile([10, 20], 50) == 15
    assert percentile(list(range(1, 101)), 99) == pytest.approx(99.01)


def test_the_extreme_percentiles_are_the_minimum_and_the_maximum():
    values = [7, 2, 9, 4]
    assert percentile(values, 0) == 2
    assert percentile(values, 100) == 9


def test_a_percentile_of_nothing_or_out_of_range_is_refused():
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1], 101)


def test_a_summary_gives_count_extremes_and_the_percentiles():
    result = summary([float(v) for v in range(1, 101)])
    assert result["count"] == 100
    assert (result["min"], result["max"]) == (1, 100)
    assert result["p50"] == pytest.approx(50.5)
    assert result["p95"] == pytest.approx(95.05)


def test_a_summary_of_nothing_says_so_rather_than_inventing_figures():
    assert summary([]) == {
        "count": 0,
        "min": None,
        "p50": None,
        "p95": None,
        "p99": None,
        "max": None,
    }


def test_each_hop_is_the_difference_of_its_two_timestamps():
    assert hop_delays(RECEIPT) == {
        "commit→captured": 30,
        "captured→derived": 15,
        "derived→sent": 5,
        "sent→received": 2,
        "commit→received": 52,
    }


def test_a_hop_with_a_missing_timestamp_is_left_out_not_guessed():
    delays = hop_delays({**RECEIPT, "captured_at": None})
    assert "commit→captured" not in delays
    assert "captured→derived" not in delays
    assert delays["commit→received"] == 52


def test_hop_summaries_cover_every_hop_and_the_total():
    later = {k: v + 10 for k, v in RECEIPT.items()} | {"received_at": RECEIPT["received_at"] + 20}
    summaries = hop_summaries([RECEIPT, later])
    assert summaries[TOTAL[0]]["count"] == 2
    assert summaries[TOTAL[0]]["max"] == 62
    assert summaries["derived→sent"]["p50"] == 5


def test_a_lag_that_stays_level_is_flat():
    samples = [(t, 300 if t % 3 else 900) for t in range(30)]  # Faust commits every few seconds
    trend = lag_trend(samples, offered_records_per_s=1_000)
    assert trend.flat
    assert abs(trend.slope) < 50


def test_a_lag_that_grows_with_the_load_is_not_flat():
    samples = [(t, 400 * t) for t in range(20)]  # 400 records/s more arrive than are derived
    trend = lag_trend(samples, offered_records_per_s=1_000)
    assert not trend.flat
    assert trend.slope == pytest.approx(400)
    assert (trend.first, trend.last, trend.max) == (0, 7_600, 7_600)


def test_a_lag_that_tilts_up_but_stays_under_a_few_seconds_of_input_is_flat():
    samples = [(t, 100 + 40 * t) for t in range(10)]  # ends at 460 records: 2.3 s of input
    trend = lag_trend(samples, offered_records_per_s=200)
    assert trend.slope > 0.05 * 200
    assert trend.flat


def test_a_shrinking_lag_is_flat():
    assert lag_trend([(0, 5_000), (10, 100)], offered_records_per_s=200).flat


def test_a_trend_needs_two_samples():
    with pytest.raises(ValueError, match="two lag samples"):
        lag_trend([(0, 1)], 100)


def test_a_rate_is_sustained_within_five_percent_of_the_target():
    assert sustained(2_000, 1_901)
    assert not sustained(2_000, 1_899)


def test_a_poller_sees_a_change_when_its_answer_arrives():
    assert polled_delay(received_at=5_400, updated_at=5_000) == 400


def test_a_ratio_to_ours_is_unknown_when_ours_is_zero_or_missing():
    assert ratio(30, 10) == 3
    assert ratio(5, 0) is None
    assert ratio(None, 10) is None


def test_cpu_is_in_percent_of_one_core():
    assert cpu_percent(cpu_seconds=3, wall_seconds=2) == 150
    with pytest.raises(ValueError):
        cpu_percent(1, 0)


def test_pipeline_hops_split_each_change_once_at_the_benchmarks_own_kafka_read() -> None:
    stamps = {("A", 1): (1000, 1030, 1040, 1900), ("B", 7): (2000, 2010, 2020, 2025)}
    seen = {("A", 1): 1060}  # B's record was not seen by the benchmark's reader

    hops = pipeline_hops(stamps, seen)

    assert hops["commit→captured"] == [30, 10]
    assert hops["captured→derived"] == [10, 10]
    assert hops["derived→gateway read"] == [860, 5]
    assert hops["derived→in Kafka"] == [20]
    assert hops["in Kafka→gateway read"] == [840]
