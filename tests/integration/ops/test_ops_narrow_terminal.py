"""bankctl in an 80-column terminal, against the real stack: every line fits, amounts read in
major units next to their currency, and the options a new user reaches for do what they say."""

from __future__ import annotations

import json
import re
import select
import signal
import subprocess

import pytest
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed
from typer.testing import CliRunner

from events import codec, topics
from kernel.settings import REPO_ROOT
from ops.cli import app
from tests.support.ops_stack import (
    BANKCTL,
    balance_changed,
    jsonl,
    produce,
    quiet_accounts,
)
from tests.support.wait import wait_for_line

pytestmark = pytest.mark.integration

COLUMNS = 80


def at_80(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": str(COLUMNS)})


def too_wide(output: str) -> list[str]:
    return [line for line in output.splitlines() if len(line) > COLUMNS]


class NotDerivedYet(AssertionError):
    pass


def test_records_fit_80_columns_one_block_each_with_times_as_times():
    result = at_80("consume", topics.CDC_MONEY, "--limit", "5")

    assert result.exit_code == 0, result.output
    assert not too_wide(result.output)
    heads = [line for line in result.output.splitlines() if re.match(r"^\d+@\d+ ", line)]
    assert len(heads) == 5
    assert not re.search(r"_at[=:] ?\d{13}", result.output), "epoch ms where a time belongs"


def test_topics_fit_80_columns_without_cutting_a_name():
    result = at_80("topics")

    assert result.exit_code == 0, result.output
    assert not too_wide(result.output)
    assert topics.CDC_MONEY in result.output and "bank.balance-changed" in result.output
    assert "…" not in result.output


def test_key_iban_on_the_money_cdc_topic_finds_that_accounts_changes(teller):
    (account,) = quiet_accounts(1)
    teller.deposit(account.iban, 100, "bankctl key test")
    spaced = " ".join(account.iban[i : i + 4] for i in range(0, len(account.iban), 4))

    result = at_80("consume", topics.CDC_MONEY, "--key", spaced, "-o", "jsonl")

    assert result.exit_code == 0, result.output
    records = jsonl(result.output)
    assert records, "an IBAN matched nothing on the topic keyed by account id"
    assert {json.loads(r["key"])["account_id"] for r in records} == {account.id}


def test_trace_fits_80_columns_and_reads_money_in_major_units(teller):
    (account,) = quiet_accounts(1)
    booking = teller.deposit(account.iban, 12_345, "bankctl narrow trace")

    @retry(
        retry=retry_if_exception_type(NotDerivedYet),
        stop=stop_after_delay(60),
        wait=wait_fixed(1),
        reraise=True,
    )
    def traced() -> str:
        result = at_80("trace", account.iban, "--limit", "1")
        assert result.exit_code == 0, result.output
        if "not found" in result.output:
            raise NotDerivedYet(result.output)
        return result.output

    output = traced()
    assert not too_wide(output)
    major = f"{booking.balance_after / 100:,.2f} EUR"
    assert f"#{booking.entry_id} deposit +123.45 EUR → {major}" in output
    assert f"balance {major}" in output


def test_lag_exits_3_when_the_gateway_cannot_be_reached():
    result = at_80("lag", "--gateway-url", "http://127.0.0.1:1", "--timeout", "2")

    assert result.exit_code == 3, result.output
    assert "http://127.0.0.1:1" in result.output
    assert "consumer group bank-derivation" in result.output  # what could be read is still shown


def test_follow_from_the_end_prints_only_new_records(scratch_topic):
    topic = scratch_topic()
    produce(topic, [(b"NL00OLD", codec.encode("balance_changed", balance_changed("NL00OLD")))])
    process = subprocess.Popen(
        [str(BANKCTL), "consume", topic, "--from-end", "-o", "jsonl"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_line(process.stderr, "following")
        produce(topic, [(b"NL00NEW", codec.encode("balance_changed", balance_changed("NL00NEW")))])
        ready, _, _ = select.select([process.stdout], [], [], 15)
        assert ready, "no record printed within 15 s of producing it"
        assert json.loads(process.stdout.readline())["key"] == "NL00NEW"
    finally:
        process.send_signal(signal.SIGINT)
        rest, errors = process.communicate(timeout=30)
        assert process.returncode == 0, errors
    assert "NL00OLD" not in rest


def test_the_hint_for_a_stack_that_is_down_names_a_command_that_works():
    result = at_80("topics", "--bootstrap", "127.0.0.1:1", "--timeout", "2")
    assert result.exit_code == 3
    assert "`make status`" in result.output
    status = subprocess.run(
        ["make", "--no-print-directory", "status"], cwd=REPO_ROOT, capture_output=True
    )
    assert status.returncode == 0, status.stdout + status.stderr  # the stack is up: it says so
