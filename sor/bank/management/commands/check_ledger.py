"""Checks that every balance equals the sum of its ledger entries; exits non-zero if not."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from sor.bank.errors import UnknownCurrency
from sor.bank.ledger_check import (
    LEDGER_TOTALS_SQL,
    ORPHAN_ENTRIES_SQL,
    LedgerTotals,
    orphan_problem,
)
from sor.bank.money import format_money


def _money(minor: int, currency: str) -> str:
    try:
        return format_money(minor, currency)
    except UnknownCurrency:  # a row written outside the bank's code: show what is there
        return f"{minor} minor units of {currency!r}"


class Command(BaseCommand):
    help = (
        "Check that every account's balance equals the sum of its ledger entries and the "
        "balance after its latest entry, and that every entry has its account; list what does "
        "not and exit with status 1."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        with connection.cursor() as cursor:
            cursor.execute(LEDGER_TOTALS_SQL)
            rows = [LedgerTotals.from_row(row) for row in cursor.fetchall()]
            cursor.execute(ORPHAN_ENTRIES_SQL)
            orphans = cursor.fetchall()
        mismatches = [row for row in rows if not row.matches]
        for row in mismatches:
            latest = row.latest_balance_after
            self.stderr.write(
                f"{row.iban}: balance {_money(row.balance, row.currency)}, but its "
                f"{row.entry_count} ledger entries add up to "
                f"{_money(row.ledger_sum, row.currency)} and the latest says "
                f"{'nothing' if latest is None else _money(latest, row.currency)}"
            )
        for account_id, count in orphans:
            self.stderr.write(orphan_problem(account_id, count))
        if mismatches or orphans:
            raise CommandError(
                f"{len(mismatches)} of {len(rows)} accounts do not match their ledger; "
                f"{len(orphans)} missing account(s) have ledger entries"
            )
        entries = sum(row.entry_count for row in rows)
        self.stdout.write(f"All {len(rows)} accounts match their ledgers ({entries} entries).")
