"""What bankctl says when a service is down or a name is wrong: what, where, what to try, and a
non-zero exit, within seconds."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.support.ops_stack import BANKCTL

pytestmark = pytest.mark.integration


def test_an_unknown_topic_is_named_with_a_hint(bankctl):
    result = bankctl("consume", "bank.balance-changd")

    assert result.exit_code == 3
    assert "there is no topic 'bank.balance-changd'" in result.output
    assert "did you mean bank.balance-changed" in result.output


def test_an_unreachable_broker_fails_fast_and_says_where(bankctl):
    started = time.monotonic()
    result = subprocess.run(
        [str(BANKCTL), "topics", "--bootstrap", "127.0.0.1:1"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    elapsed = time.monotonic() - started

    assert result.returncode == 3
    assert "Kafka is not reachable" in result.stderr
    assert "Connection refused" in result.stderr
    assert "127.0.0.1:1" in result.stderr
    assert "--bootstrap" in result.stderr  # what to try
    assert elapsed < 10
    consume = bankctl("consume", "bank.balances", "--bootstrap", "127.0.0.1:1", "--timeout", "2")
    assert consume.exit_code == 3
    assert "Kafka is not reachable" in consume.output


def test_an_unreachable_connect_is_named(bankctl):
    result = bankctl("connector", "status", "--connect-url", "http://127.0.0.1:1")

    assert result.exit_code == 3
    assert "Kafka Connect is not answering" in result.output
    assert "http://127.0.0.1:1" in result.output


def test_an_unreachable_database_is_named(bankctl):
    result = bankctl("reconcile", "--db-port", "1", "--timeout", "2")

    assert result.exit_code == 3
    assert "the database is not reachable" in result.output
    assert "--db-port" in result.output


def test_an_unknown_connector_and_an_unknown_iban_are_named(bankctl):
    connector = bankctl("connector", "status", "no-such-connector")
    account = bankctl("trace", "XX00NOSUCHACCOUNT")

    assert connector.exit_code == 3
    assert "there is no connector 'no-such-connector'" in connector.output
    assert "bank-sor" in connector.output  # the ones that exist
    assert account.exit_code == 3
    assert "no account has the IBAN XX00NOSUCHACCOUNT" in account.output
