"""Checks that every balance equals the sum of its ledger entries; exits non-zero if not."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce

from sor.bank.models import Account, LedgerEntry
from sor.bank.money import format_money


class Command(BaseCommand):
    help = (
        "Check that every account's balance equals the sum of its ledger entries and the "
        "balance after its latest entry; list the accounts that do not and exit with status 1."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        latest = LedgerEntry.objects.filter(account=OuterRef("pk")).order_by("-id")
        # One statement, so the balances and the entries are read at the same moment.
        accounts = Account.objects.annotate(
            ledger_sum=Coalesce(Sum("entries__amount"), 0),
            entry_count=Count("entries"),
            latest_balance_after=Subquery(latest.values("balance_after")[:1]),
        )
        rows = list(
            accounts.values_list(
                "iban", "currency", "balance", "ledger_sum", "entry_count", "latest_balance_after"
            )
        )
        mismatches = [
            row for row in rows if row[2] != row[3] or (row[5] is not None and row[5] != row[2])
        ]
        for number, currency, balance, total, count, latest_after in mismatches:
            self.stderr.write(
                f"{number}: balance {format_money(balance, currency)}, but its {count} ledger "
                f"entries add up to {format_money(total, currency)} and the latest says "
                f"{'nothing' if latest_after is None else format_money(latest_after, currency)}"
            )
        if mismatches:
            raise CommandError(
                f"{len(mismatches)} of {len(rows)} accounts do not match their ledger"
            )
        entries = sum(row[4] for row in rows)
        self.stdout.write(f"All {len(rows)} accounts match their ledgers ({entries} entries).")
