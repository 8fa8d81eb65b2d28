"""Does every balance equal its ledger? One SQL statement and the rule that reads its rows,
shared by ``manage.py check_ledger`` (through Django) and ``bankctl reconcile`` (through
MySQLdb), so both say the same. No Django here: the ops CLI imports it without settings."""

from __future__ import annotations

from dataclasses import dataclass

# One statement, so each balance and its entries are read at the same moment.
LEDGER_TOTALS_SQL = """
SELECT a.id, a.iban, a.currency, a.balance,
       COALESCE(SUM(e.amount), 0) AS ledger_sum,
       COUNT(e.id) AS entry_count,
       (SELECT l.balance_after FROM ledger_entry l WHERE l.account_id = a.id
        ORDER BY l.id DESC LIMIT 1) AS latest_balance_after
FROM account a LEFT JOIN ledger_entry e ON e.account_id = a.id
GROUP BY a.id, a.iban, a.currency, a.balance
ORDER BY a.id
"""

# Entries whose account does not exist (only possible when written around the foreign key).
ORPHAN_ENTRIES_SQL = """
SELECT e.account_id, COUNT(*) FROM ledger_entry e
LEFT JOIN account a ON a.id = e.account_id
WHERE a.id IS NULL GROUP BY e.account_id ORDER BY e.account_id
"""


@dataclass(frozen=True)
class LedgerTotals:
    """One account's balance beside what its ledger says (amounts in minor units)."""

    account_id: int
    iban: str
    currency: str
    balance: int
    ledger_sum: int
    entry_count: int
    latest_balance_after: int | None

    @classmethod
    def from_row(cls, row: tuple) -> LedgerTotals:
        account_id, number, currency, balance, total, count, latest = row
        return cls(
            int(account_id),
            number,
            currency,
            int(balance),
            int(total),
            int(count),
            None if latest is None else int(latest),
        )

    @property
    def matches(self) -> bool:
        latest_agrees = self.latest_balance_after in (None, self.balance)
        return self.balance == self.ledger_sum and latest_agrees

    def problem(self) -> str:
        """The mismatch in words, amounts in minor units."""
        latest = "nothing" if self.latest_balance_after is None else str(self.latest_balance_after)
        return (
            f"ledger differs: balance {self.balance}, but its {self.entry_count} ledger entries "
            f"add up to {self.ledger_sum} and the latest says {latest}"
        )


def orphan_problem(account_id: int, count: int) -> str:
    return f"{count} ledger entries belong to account id {account_id}, which does not exist"
