"""What every account row must satisfy. The bank's own code keeps to it; a row written into the
database by other means may not, and such an account is answered with a clear refusal
(``AccountBroken``) instead of being changed or shown as if it were sound."""

from __future__ import annotations

from sor.bank.errors import AccountBroken
from sor.bank.models import Account
from sor.bank.money import MINOR_UNIT_DIGITS

# The most a balance, an overdraft limit or a threshold may be, in minor units.
MAX_BALANCE = 10**15


def breaches(account: Account) -> list[str]:
    """What is wrong with the row, in words; empty when it keeps the contract."""
    found = []
    if account.status not in Account.Status.values:
        found.append(f"its status {account.status!r} is not one the bank knows")
    if account.currency not in MINOR_UNIT_DIGITS:
        found.append(f"its currency {account.currency!r} is not one the bank keeps")
    if abs(account.balance) > MAX_BALANCE:
        found.append(f"its balance of {account.balance} minor units is beyond what it may hold")
    if not 0 <= account.overdraft_limit <= MAX_BALANCE:
        found.append(f"its overdraft limit of {account.overdraft_limit} minor units is impossible")
    elif account.balance < -account.overdraft_limit:
        found.append(
            f"its balance of {account.balance} minor units is below its overdraft limit of "
            f"{account.overdraft_limit}"
        )
    threshold = account.low_balance_threshold
    if threshold is not None and abs(threshold) > MAX_BALANCE:
        found.append(f"its low-balance threshold of {threshold} minor units is impossible")
    return found


def ensure_sound(account: Account) -> Account:
    """The account, or ``AccountBroken`` naming what is wrong with its row."""
    if found := breaches(account):
        raise AccountBroken(
            f"Account {account.iban} breaks the bank's rules: {'; '.join(found)}. It was written "
            "outside the bank's own code; nothing is done with it until its row is repaired "
            "(see `bankctl reconcile` and `manage.py check_ledger`)"
        )
    return account
