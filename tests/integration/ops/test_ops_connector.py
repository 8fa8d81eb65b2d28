"""`bankctl connector` over Connect's REST API: healthy, failed with its trace, restarted,
paused and resumed (the broken one only; the bank's connector is only looked at)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.integration


def test_the_bank_connector_runs(bankctl):
    result = bankctl("connector", "status", "bank-sor")
    as_json = bankctl("connector", "status", "bank-sor", "--json")

    assert result.exit_code == 0, result.output
    assert "bank-sor" in result.output and "RUNNING" in result.output
    (status,) = json.loads(as_json.output)
    assert status["state"] == "RUNNING"
    assert [t["state"] for t in status["tasks"]] == ["RUNNING"]
    assert status["failed"] is False


def test_a_failed_connector_shows_its_task_trace_and_exits_1(bankctl, broken_connector):
    result = bankctl("connector", "status", broken_connector.name)
    full = bankctl("connector", "status", broken_connector.name, "--full-trace")

    assert result.exit_code == 1, result.output
    assert "FAILED" in result.output
    assert f"task {broken_connector.name}/0 FAILED" in result.output
    assert (
        "Caused by: java.lang.IllegalArgumentException: Unknown field: no_such_field"
        in result.output
    )
    assert "--full-trace shows them" in result.output
    assert "more lines" not in full.output


def test_a_restart_of_a_connector_that_fails_again_says_so(bankctl, broken_connector):
    result = bankctl("connector", "restart", broken_connector.name, "--wait", "20")

    assert result.exit_code == 1, result.output
    assert "FAILED" in result.output
    assert "Unknown field: no_such_field" in result.output


def test_pause_and_resume_change_the_connector_state(bankctl, broken_connector):
    paused = bankctl("connector", "pause", broken_connector.name, "--wait", "20")
    resumed = bankctl("connector", "resume", broken_connector.name, "--wait", "20")

    assert "PAUSED" in paused.output
    state_column = [line for line in resumed.output.splitlines() if broken_connector.name in line]
    assert "RUNNING" in state_column[0]
