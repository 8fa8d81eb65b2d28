import json

import pytest

from bench import report
from bench.report import Outcome, Table

pytestmark = pytest.mark.unit

FACTS = {
    "cpus": 2,
    "cpu_model": "Test CPU",
    "ram_gib": 24.0,
    "load_average": (0.5, 0.4, 0.3),
    "git": "abc1234",
}


def outcome() -> Outcome:
    return Outcome(
        scenario="latency",
        title="Light-load latency",
        settings={"rate": 10},
        figures={"goal_met": True},
        tables=[Table("per hop", ["hop", "p50 ms"], [["commit→received", "42.0"]])],
        notes=["a note"],
        latency_samples={"commit→received": [40.0, 42.0, 44.0]},
        rate_points=[(100.0, 80.0), (250.0, 120.0)],
    )


def test_the_markdown_summary_names_the_machine_the_command_and_every_table():
    document = {
        "measured_at": "20261123T120000Z",
        "command": "python -m bench latency",
        "machine": FACTS,
        "plots": ["x-latency.png"],
    }
    text = report.markdown(outcome(), document)
    assert "# Light-load latency" in text
    assert "`python -m bench latency`" in text
    assert "2 CPUs (Test CPU), 24.0 GiB" in text
    assert "| commit→received | 42.0 |" in text
    assert "- a note" in text
    assert "![x-latency.png](x-latency.png)" in text


def test_a_run_writes_json_markdown_and_both_plots(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "RESULTS_DIR", tmp_path)
    paths = report.write(outcome(), {"command": "python -m bench latency"}, FACTS)
    names = sorted(p.name.split("-", 1)[1] for p in paths)
    assert names == ["latency-latency.png", "latency-rate-p99.png", "latency.json", "latency.md"]
    document = json.loads(next(p for p in paths if p.suffix == ".json").read_text())
    assert document["settings"] == {"rate": 10}
    assert document["figures"] == {"goal_met": True}
    assert document["machine"]["cpus"] == 2
    assert report.latest("latency")["scenario"] == "latency"


def test_missing_figures_show_as_a_dash():
    assert report.ms(None) == "-"
    assert report.ms(1234.56) == "1,234.6"
