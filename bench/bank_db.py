"""The system of record's database from the side: a connection as the bank's user, and the
read-only look-ups that pick accounts for a drill or a test."""

from __future__ import annotations

from collections.abc import Collection

import MySQLdb

from bench.teller import Booking
from kernel.settings import Settings, database_login
from ops.database import AccountRow


def connect(config: Settings, **options: object) -> MySQLdb.Connection:
    """A connection to the bank's database as the bank's user (BANK_DB_PASSWORD)."""
    return MySQLdb.connect(**database_login(config), **options)


DEMO_USERNAME = "demo"  # sor.bank.demo_data's; that module needs Django, these helpers do not
# Customers with a dashboard login (the demo customer among them) are what people look at: tests
# that pick seeded accounts stay off them.
_NO_LOGIN = "c.user_id IS NULL"


def open_eur_account(config: Settings, owner_username: str | None = None) -> AccountRow:
    """An open EUR account (of the given customer's login, when named, else of a customer without
    a login), least recently changed."""
    query = (
        "SELECT a.id, a.iban, a.balance, a.currency, a.status FROM account a "
        "JOIN customer c ON c.id = a.customer_id LEFT JOIN auth_user u ON u.id = c.user_id "
        "WHERE a.status = 'open' AND a.currency = 'EUR' "
    )
    params: tuple = ()
    if owner_username is not None:
        query += "AND u.username = %s "
        params = (owner_username,)
    else:
        query += f"AND {_NO_LOGIN} "
    query += "ORDER BY a.updated_at LIMIT 1"
    connection = connect(config)
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
    """`count` open accounts of customers without a login, none of the IBANs `excluding` names."""
    connection = connect(config)
    try:
        cursor = connection.cursor()
        cursor.execute(
            "SELECT a.id, a.iban, a.balance, a.currency, a.status FROM account a "
            f"JOIN customer c ON c.id = a.customer_id WHERE a.status = 'open' AND {_NO_LOGIN} "
            "ORDER BY a.id LIMIT %s",
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
    connection = connect(config)
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT iban, balance FROM account")
        return dict(cursor.fetchall())
    finally:
        connection.close()


def entries_booked_with_keys(config: Settings, key_prefix: str) -> list[Booking]:
    """Every ledger entry committed by a request whose Idempotency-Key starts with the prefix:
    what really got booked, whether or not its requester heard the answer."""
    connection = connect(config)
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


def demo_entries_beyond_the_seed(config: Settings) -> list[str]:
    """Ledger entries on the demo customer's accounts other than their seeded opening balances:
    what a test or benchmark wrote where a new user will look."""
    connection = connect(config)
    try:
        cursor = connection.cursor()
        cursor.execute(
            "SELECT e.id, a.iban, e.kind, e.amount, e.reason FROM ledger_entry e "
            "JOIN account a ON a.id = e.account_id JOIN customer c ON c.id = a.customer_id "
            "JOIN auth_user u ON u.id = c.user_id WHERE u.username = %s "
            "AND NOT (e.kind = 'opening' AND e.created_by_id IS NULL) ORDER BY e.id",
            (DEMO_USERNAME,),
        )
        return [f"#{row[0]} {row[1]} {row[2]} {row[3]} {row[4]!r}" for row in cursor.fetchall()]
    finally:
        connection.close()
