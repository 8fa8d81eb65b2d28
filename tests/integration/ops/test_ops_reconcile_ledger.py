"""`bankctl reconcile` also checks the database against itself: an account whose balance is not
what its ledger adds up to is reported (the same check as `manage.py check_ledger`). The account
is a scratch customer's, written with SQL and deleted afterwards."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from sor.bank import iban
from tests.support.ops_stack import _db

pytestmark = pytest.mark.integration


@pytest.fixture
def account_off_its_ledger() -> Iterator[str]:
    """A scratch account holding 5.00 EUR with no ledger entry to explain it."""
    number = iban.issue_new()
    connection = _db()
    cursor = connection.cursor()
    cursor.execute(
        "INSERT INTO customer (name, email, created_at) VALUES (%s, %s, UTC_TIMESTAMP(6))",
        ("Scratch Reconcile", f"reconcile-{uuid.uuid4().hex[:12]}@example.com"),
    )
    customer_id = cursor.lastrowid
    cursor.execute(
        "INSERT INTO account (iban, customer_id, currency, balance, overdraft_limit, status, "
        "version, created_at, updated_at) "
        "VALUES (%s, %s, 'EUR', 500, 0, 'open', 1, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
        (number, customer_id),
    )
    try:
        yield number
    finally:
        cursor.execute("DELETE FROM account WHERE iban = %s", (number,))
        cursor.execute("DELETE FROM customer WHERE id = %s", (customer_id,))
        connection.close()


def test_an_account_whose_balance_is_not_its_ledger_is_reported(bankctl, account_off_its_ledger):
    table = bankctl("reconcile", "--settle", "1")
    report = json.loads(bankctl("reconcile", "--settle", "1", "--json").output)

    assert table.exit_code == 1, table.output
    assert account_off_its_ledger in table.output
    mismatch = {m["iban"]: m for m in report["mismatches"]}[account_off_its_ledger]
    assert mismatch["database"] == 500
    assert (
        "ledger differs: balance 500, but its 0 ledger entries add up to 0 and the latest says "
        "nothing"
    ) in mismatch["problems"]
