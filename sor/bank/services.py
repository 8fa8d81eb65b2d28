"""The bank's rules for money. Every balance change goes through here, from the admin and the API.

Each change is one transaction: lock the account row (a transfer locks both rows in ascending id
order, so two transfers in opposite directions cannot deadlock), check the rules, insert the
ledger entry first, then update the balance and the version. So the balance always equals the sum
of its ledger entries, and the CDC stream sees the entry before the balance it explains.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction

from sor.bank import iban
from sor.bank.contract import MAX_BALANCE, ensure_sound
from sor.bank.errors import (
    AccountNotFound,
    AccountNotOpen,
    BalanceNotZero,
    CurrencyMismatch,
    InsufficientFunds,
    InvalidAmount,
    ReasonRequired,
    SameAccount,
    StaleVersion,
)
from sor.bank.models import Account, Customer, LedgerEntry
from sor.bank.money import format_money, minor_unit_digits

# The most one movement may be, in minor units (ten million EUR): more is surely a typo.
MAX_AMOUNT = 1_000_000_000
MAX_REASON_LENGTH = 1000
_IBAN_ATTEMPTS = 5

Kind = LedgerEntry.Kind
Status = Account.Status


@dataclass(frozen=True)
class Terms:
    """What a clerk agrees with the customer: how deep the account may go, when to warn them."""

    overdraft_limit: int
    low_balance_threshold: int | None

    @classmethod
    def of(cls, account: Account) -> Terms:
        return cls(account.overdraft_limit, account.low_balance_threshold)


@dataclass(frozen=True)
class Transfer:
    transfer_id: str
    debit: LedgerEntry
    credit: LedgerEntry


def lock_account(account_id: int) -> Account:
    """The account, its row locked until the surrounding transaction ends; a row that breaks
    the bank's rules is refused (``AccountBroken``) before anything is done with it."""
    try:
        account = Account.objects.select_for_update().get(pk=account_id)
    except Account.DoesNotExist:
        raise AccountNotFound(f"There is no account with id {account_id}") from None
    return ensure_sound(account)


def open_account(
    customer: Customer,
    currency: str,
    *,
    terms: Terms | None = None,
    opening_balance: int = 0,
    by: AbstractBaseUser | None = None,
    iban_wanted: str | None = None,
) -> Account:
    """A new open account with a fresh IBAN (or ``iban_wanted``, which must be free: the demo
    data's fixed numbers); an opening balance is booked as its first entry."""
    terms = terms or Terms(overdraft_limit=0, low_balance_threshold=None)
    check_opening(currency, terms, opening_balance)
    with transaction.atomic():
        account = _create_with_fresh_iban(customer, currency, terms, iban_wanted)
        if opening_balance:
            _book(account, opening_balance, Kind.OPENING, "Opening balance", by)
            _save(account)
    return account


def check_opening(currency: str, terms: Terms, opening_balance: int) -> None:
    """The rules of ``open_account``, for a form that wants to show what is wrong first."""
    minor_unit_digits(currency)
    _check_terms(terms, currency)
    if not 0 <= opening_balance <= MAX_BALANCE:
        raise InvalidAmount(
            "An account opens with zero or more, at most "
            f"{format_money(MAX_BALANCE, currency)}; use an adjustment for anything else"
        )


def deposit(
    account_id: int,
    amount: int,
    *,
    reason: str,
    by: AbstractBaseUser | None = None,
    idempotency_key: str | None = None,
) -> LedgerEntry:
    reason = _checked_reason(reason)
    with transaction.atomic():
        account = lock_account(account_id)
        _ensure_open(account)
        _check_amount(account, amount)
        entry = _book(account, amount, Kind.DEPOSIT, reason, by, idempotency_key=idempotency_key)
        _save(account)
    return entry


def withdraw(
    account_id: int,
    amount: int,
    *,
    reason: str,
    by: AbstractBaseUser | None = None,
    idempotency_key: str | None = None,
) -> LedgerEntry:
    reason = _checked_reason(reason)
    with transaction.atomic():
        account = lock_account(account_id)
        _ensure_open(account)
        _check_amount(account, amount)
        _ensure_covered(account, amount)
        entry = _book(
            account, -amount, Kind.WITHDRAWAL, reason, by, idempotency_key=idempotency_key
        )
        _save(account)
    return entry


def transfer(
    from_account_id: int,
    to_account_id: int,
    amount: int,
    *,
    reason: str,
    by: AbstractBaseUser | None = None,
    idempotency_key: str | None = None,
) -> Transfer:
    """Moves money between two accounts of the same currency, both sides in one transaction."""
    if from_account_id == to_account_id:
        raise SameAccount("An account cannot transfer to itself; choose another account")
    reason = _checked_reason(reason)
    with transaction.atomic():
        # Always the lower id first: two opposite transfers then queue instead of deadlocking.
        locked = {pk: lock_account(pk) for pk in sorted((from_account_id, to_account_id))}
        source, target = locked[from_account_id], locked[to_account_id]
        _ensure_open(source)
        _ensure_open(target)
        if source.currency != target.currency:
            raise CurrencyMismatch(
                f"{source} holds {source.currency} and {target} holds {target.currency}; "
                "a transfer needs both accounts in the same currency"
            )
        _check_amount(source, amount)
        _ensure_covered(source, amount)
        transfer_id = str(uuid.uuid4())
        debit = _book(source, -amount, Kind.TRANSFER_OUT, reason, by, transfer_id, idempotency_key)
        credit = _book(target, amount, Kind.TRANSFER_IN, reason, by, transfer_id, idempotency_key)
        _save(source)
        _save(target)
    return Transfer(transfer_id, debit, credit)


def adjust(
    account_id: int,
    target_balance: int,
    *,
    reason: str,
    by: AbstractBaseUser | None = None,
    expected_version: int | None = None,
    terms: Terms | None = None,
) -> Account:
    """Sets the balance to a target, booking the difference as an adjustment; the new terms, if
    given, take effect in the same change. A clerk's edit of an account is one call of this."""
    with transaction.atomic():
        account = lock_account(account_id)
        check_adjustment(
            account, target_balance, reason=reason, expected_version=expected_version, terms=terms
        )
        new_terms = terms or Terms.of(account)
        changed = False
        if target_balance != account.balance:
            difference = target_balance - account.balance
            _book(account, difference, Kind.ADJUSTMENT, reason.strip(), by)
            changed = True
        if new_terms != Terms.of(account):
            account.overdraft_limit = new_terms.overdraft_limit
            account.low_balance_threshold = new_terms.low_balance_threshold
            changed = True
        if changed:
            _save(account, "overdraft_limit", "low_balance_threshold")
    return account


def check_adjustment(
    account: Account,
    target_balance: int,
    *,
    reason: str,
    expected_version: int | None,
    terms: Terms | None = None,
) -> None:
    """The rules of ``adjust``, for a form that wants to show what is wrong before saving.

    ``account`` must be locked with ``lock_account`` in the caller's transaction.
    """
    ensure_version(account, expected_version)
    new_terms = terms or Terms.of(account)
    balance_changes = target_balance != account.balance
    if not balance_changes and new_terms == Terms.of(account):
        return
    if account.status == Status.CLOSED:
        raise AccountNotOpen(f"Account {account} is closed; it cannot be changed any more")
    _check_terms(new_terms, account.currency)
    if balance_changes:
        _ensure_open(account)
        _checked_reason(reason)
        if abs(target_balance) > MAX_BALANCE:
            raise InvalidAmount(
                f"A balance of {format_money(target_balance, account.currency)} is beyond what "
                "an account may hold"
            )
        if abs(target_balance - account.balance) > MAX_AMOUNT:
            raise InvalidAmount(
                "One adjustment may change the balance by at most "
                f"{format_money(MAX_AMOUNT, account.currency)}"
            )
    if target_balance < -new_terms.overdraft_limit:
        raise InsufficientFunds(
            f"A balance of {format_money(target_balance, account.currency)} would be below the "
            f"overdraft limit of {format_money(new_terms.overdraft_limit, account.currency)}"
        )


def ensure_version(account: Account, expected_version: int | None) -> None:
    """Refuses a change made from a stale copy of the account (optimistic locking)."""
    if expected_version is not None and expected_version != account.version:
        raise StaleVersion(expected_version, account.version)


def freeze(
    account_id: int,
    *,
    expected_version: int | None = None,
    reason: str = "",
    by: AbstractBaseUser | None = None,
) -> Account:
    """No money moves on a frozen account until it is unfrozen. Freezing twice changes nothing."""
    return _set_status(account_id, Status.FROZEN, expected_version, reason, by)


def unfreeze(
    account_id: int,
    *,
    expected_version: int | None = None,
    reason: str = "",
    by: AbstractBaseUser | None = None,
) -> Account:
    return _set_status(account_id, Status.OPEN, expected_version, reason, by)


def close(
    account_id: int,
    *,
    expected_version: int | None = None,
    reason: str = "",
    by: AbstractBaseUser | None = None,
) -> Account:
    """Closing is for good, and only once the balance is zero."""
    return _set_status(account_id, Status.CLOSED, expected_version, reason, by)


def _set_status(
    account_id: int,
    status: str,
    expected_version: int | None,
    reason: str,
    by: AbstractBaseUser | None,
) -> Account:
    with transaction.atomic():
        account = lock_account(account_id)
        ensure_version(account, expected_version)
        if account.status == status:
            return account
        if account.status == Status.CLOSED:
            raise AccountNotOpen(f"Account {account} is closed; closing is for good")
        if status == Status.CLOSED and account.balance != 0:
            raise BalanceNotZero(
                f"Account {account} still holds {account.balance_display}; "
                "pay it out or transfer it before closing"
            )
        account.status = status
        account.status_reason = reason.strip()
        account.status_changed_by_username = by.get_username() if by else ""
        _save(account, "status", "status_reason", "status_changed_by_username")
    return account


def _create_with_fresh_iban(
    customer: Customer, currency: str, terms: Terms, wanted: str | None = None
) -> Account:
    for _ in range(1 if wanted else _IBAN_ATTEMPTS):
        candidate = wanted or iban.issue_new()
        try:
            with transaction.atomic():
                return Account.objects.create(
                    iban=candidate,
                    customer=customer,
                    currency=currency,
                    overdraft_limit=terms.overdraft_limit,
                    low_balance_threshold=terms.low_balance_threshold,
                )
        except IntegrityError:
            if wanted or not Account.objects.filter(iban=candidate).exists():
                raise
    raise RuntimeError(f"no free IBAN after {_IBAN_ATTEMPTS} tries; the number space is full")


def _book(
    account: Account,
    amount: int,
    kind: str,
    reason: str,
    by: AbstractBaseUser | None,
    transfer_id: str | None = None,
    idempotency_key: str | None = None,
) -> LedgerEntry:
    """Writes the ledger entry and moves the balance in memory; ``_save`` then writes the row."""
    account.balance += amount
    return LedgerEntry.objects.create(
        account=account,
        amount=amount,
        balance_after=account.balance,
        kind=kind,
        reason=reason,
        created_by=by,
        created_by_username=by.get_username() if by else "",
        transfer_id=transfer_id,
        idempotency_key=idempotency_key,
    )


def _save(account: Account, *also: str) -> None:
    account.version += 1
    account.save(update_fields=["balance", "version", "updated_at", *also])


def _ensure_open(account: Account) -> None:
    if account.status == Status.FROZEN:
        raise AccountNotOpen(f"Account {account} is frozen; unfreeze it before moving money")
    if account.status == Status.CLOSED:
        raise AccountNotOpen(f"Account {account} is closed; no money can move on it")


def _ensure_covered(account: Account, amount: int) -> None:
    if account.balance - amount < -account.overdraft_limit:
        raise InsufficientFunds(
            f"Account {account} holds {account.balance_display} with an overdraft limit of "
            f"{format_money(account.overdraft_limit, account.currency)}; it cannot pay "
            f"{format_money(amount, account.currency)}"
        )


def _check_amount(account: Account, amount: int) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidAmount(f"{amount!r} is not an amount in minor units")
    if amount <= 0:
        raise InvalidAmount("The amount must be more than zero")
    if amount > MAX_AMOUNT:
        raise InvalidAmount(
            f"{format_money(amount, account.currency)} is more than one movement may be "
            f"(at most {format_money(MAX_AMOUNT, account.currency)})"
        )


def _check_terms(terms: Terms, currency: str) -> None:
    if not 0 <= terms.overdraft_limit <= MAX_BALANCE:
        raise InvalidAmount(
            "The overdraft limit must be zero or more, at most "
            f"{format_money(MAX_BALANCE, currency)}"
        )
    threshold = terms.low_balance_threshold
    if threshold is not None and abs(threshold) > MAX_BALANCE:
        raise InvalidAmount("The low-balance threshold is beyond what an account may hold")


def _checked_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired("Give a reason: it is kept in the ledger and shown to the customer")
    if len(reason) > MAX_REASON_LENGTH:
        raise ReasonRequired(f"Keep the reason under {MAX_REASON_LENGTH} characters")
    return reason
