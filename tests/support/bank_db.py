"""Read-only look-ups in the system of record's database, to pick accounts for a test."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import MySQLdb

from stack.settings import Settings, env
from tests.support.teller import Booking


@dataclass(frozen=True)
class AccountRow:
    id: int
    iban: str
    balance: int
    currency: str


def _connect(config: Settings) -> MySQLdb.Connection:
    return MySQLdb.connect(
        host=config.host,
        port=config.db_port,
        user=config.db_user,
        password=env("BANK_DB_PASSWORD"),
        database=config.db_name,
    )


def open_eur_account(config: Settings, owner_username: str | None = None) -> AccountRow:
    """An open EUR account (of the given customer's login, when named), least recently changed."""
    query = (
        "SELECT a.id, a.iban, a.balance, a.currency FROM account a "
        "JOIN customer c ON c.id = a.customer_id LEFT JOIN auth_user u ON u.id = c.user_id "
        "WHERE a.status = 'open' AND a.currency = 'EUR' "
    )
    params: tuple = ()
    if owner_username is not None:
        query += "AND u.username = %s "
        params = (owner_username,)
    query += "ORDER BY a.updated_at LIMIT 1"
    connection = _connect(config)
    try:
        cursor = connection.cursor()
        cursor.execute(query, params)
        row = cursor.fetchone()
    finally:
        connection.close()
    assert row, f"no open EUR account{' of ' + owner_username if owner_username else ''} seeded"
    return AccountRow(*row)


def open_accounts(
    config: Settings, count: int, excluding: Collection[str] = ()
) -> list[AccountRow]:
    """`count` open accounts, spread over customers, none of the IBANs `excluding` names."""
    connection = _connect(config)
    try:
        cursor = connection.cursor()
        cursor.execute(
            "SELECT id, iban, balance, currency FROM account WHERE status = 'open' "
            "ORDER BY id LIMIT %s",
            (count + len(excluding),),
        )
        rows = [AccountRow(*row) for row in cursor.fetchall() if row[1] not in excluding]
        rows = rows[:count]
    finally:
        connection.close()
    assert len(rows) == count, f"only {len(rows)} open accounts seeded, {count} wanted"
    return rows


def balances(config: Settings) -> dict[str, int]:
    """Every account's balance in the system of record, by IBAN."""
    connection = _connect(config)
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT iban, balance FROM account")
        return dict(cursor.fetchall())
    finally:
        connection.close()


def entries_booked_with_keys(config: Settings, key_prefix: str) -> list[Booking]:
    """Every ledger entry committed by a request whose Idempotency-Key starts with the prefix:
    what really got booked, whether or not its requester heard the answer."""
    connection = _connect(config)
    try:
        cursor = connection.cursor()
        cursor.execute(
            "SELECT a.iban, e.id, e.amount, e.balance_after FROM ledger_entry e "
            "JOIN account a ON a.id = e.account_id WHERE e.idempotency_key LIKE %s ORDER BY e.id",
            (key_prefix.replace("%", r"\%").replace("_", r"\_") + "%",),
        )
        return [Booking(*row) for row in cursor.fetchall()]
    finally:
        connection.close()
