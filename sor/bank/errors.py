"""What can go wrong when money moves, in the bank's words.

Every error carries a machine-readable ``code`` (the REST API sends it) and a message a clerk can
act on (the admin shows it as a form error). The HTTP status for each code is the API's business.
"""

from __future__ import annotations


class BankError(Exception):
    code = "bank_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # The input the error is about, when it is about one (the API names it).
        self.field = field


class InvalidAmount(BankError):
    code = "invalid_amount"


class UnknownCurrency(BankError):
    code = "unknown_currency"


class InvalidIban(BankError):
    code = "invalid_iban"


class AccountNotFound(BankError):
    code = "account_not_found"


class ReasonRequired(BankError):
    code = "reason_required"


class SameAccount(BankError):
    code = "same_account"


class CurrencyMismatch(BankError):
    code = "currency_mismatch"


class InsufficientFunds(BankError):
    code = "insufficient_funds"


class AccountNotOpen(BankError):
    code = "account_not_open"


class BalanceNotZero(BankError):
    code = "balance_not_zero"


class AccountBroken(BankError):
    """The account's row breaks the rules the bank keeps (written outside its own code)."""

    code = "account_broken"


class StaleVersion(BankError):
    code = "version_conflict"

    def __init__(self, expected: int, current: int) -> None:
        super().__init__(
            "This account was changed by someone else meanwhile (you had version "
            f"{expected}, it is now at version {current}). Reload it to see the current state, "
            "then make your change again."
        )
        self.expected = expected
        self.current = current
