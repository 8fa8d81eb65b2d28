"""What an operator sees of a cluster: `make status` names the topology, the brokers, where the
connector's task runs and each Faust worker's partitions; `bankctl topics` shows copies in sync
and the minimum; `bankctl lag` the lag of each worker."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from kernel.settings import REPO_ROOT
from ops.cli import app
from soi.config import DERIVATION_GROUP

pytestmark = [pytest.mark.integration, pytest.mark.cluster]


def _run(*command: str) -> str:
    result = subprocess.run(
        [sys.executable, *command], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_make_status_shows_where_each_stage_runs(cluster_stack):
    shown = " ".join(_run("-m", "stack", "status").split())
    assert "topology cluster: Kafka 3 node(s), Connect 2 worker(s), Faust 2 worker(s)" in shown
    assert "each topic 3 copies, a write needs 2" in shown
    assert "brokers 1, 2, 3 of 3 in the cluster" in shown
    assert "task 0 RUNNING on connect" in shown
    assert f"Faust group {DERIVATION_GROUP}" in shown and "soi-2 partitions" in shown


def _bankctl(*arguments: str) -> str:
    result = CliRunner().invoke(app, list(arguments), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_bankctl_topics_shows_three_copies_in_sync_and_the_minimum_of_two(cluster_stack):
    listed = json.loads(_bankctl("topics", "--internal", "--json"))
    by_name = {t["name"]: t for t in listed}
    for name in ("sor.bank.money", "bank.balance-changed", "__consumer_offsets"):
        assert (by_name[name]["replication"], by_name[name]["min_insync"]) == (3, 2), name
        assert by_name[name]["in_sync"] == 3, name


def test_bankctl_lag_names_the_worker_reading_each_partition(cluster_stack):
    lag = json.loads(_bankctl("lag", "--json"))
    derivation = next(g for g in lag["groups"] if g["group"] == DERIVATION_GROUP)
    workers = {p["worker"] for p in derivation["partitions"]}
    assert None not in workers and len(workers) == 2, derivation["partitions"]
    assert set(derivation["workers"]) == workers
