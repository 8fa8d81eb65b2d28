"""Read-only look-ups in the system of record's database (accounts, the ledger, the binlog
position). Django stores times in UTC; they come back here as epoch milliseconds."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

import MySQLdb

from ops.config import DatabaseAddress
from ops.errors import NotFound, OpsError, Unreachable
from sor.bank.ledger_check import LEDGER_TOTALS_SQL, ORPHAN_ENTRIES_SQL, LedgerTotals

_CANNOT_CONNECT = {2002, 2003, 2005, 2006, 2013}
_ACCESS_DENIED = {1044, 1045, 1698}
_UNKNOWN_DATABASE = 1049


@dataclass(frozen=True)
class AccountRow:
    id: int
    iban: str
    balance: int
    currency: str
    status: str


@dataclass(frozen=True)
class LedgerRow:
    id: int
    account_id: int
    amount: int
    balance_after: int
    kind: str
    reason: str
    clerk: str
    created_at: int  # epoch ms


class Database:
    def __init__(self, address: DatabaseAddress, timeout: float = 5.0) -> None:
        self.address = address
        self.timeout = timeout

    @cached_property
    def _connection(self) -> MySQLdb.Connection:
        seconds = max(1, math.ceil(self.timeout))
        try:
            connection = MySQLdb.connect(
                host=self.address.host,
                port=self.address.port,
                user=self.address.user,
                password=self.address.password,
                database=self.address.name,
                connect_timeout=seconds,
                read_timeout=seconds * 6,
            )
        except MySQLdb.OperationalError as error:
            raise _explained(error, self.address) from None
        # Every query sees what is committed now, not a snapshot from the first one.
        connection.autocommit(True)
        return connection

    def _rows(self, query: str, params: tuple | list = ()) -> list[tuple]:
        cursor = self._connection.cursor()
        try:
            cursor.execute(query, params)
            return list(cursor.fetchall())
        except MySQLdb.Error as error:
            raise OpsError(
                f"the database refused a query: {error}", where=str(self.address)
            ) from None
        finally:
            cursor.close()

    def close(self) -> None:
        if "_connection" in self.__dict__:
            self._connection.close()
            del self.__dict__["_connection"]

    def account(self, iban: str) -> AccountRow:
        number = iban.replace(" ", "").upper()
        rows = self._rows(_ACCOUNTS + " WHERE iban = %s", (number,))
        if not rows:
            raise NotFound(
                f"no account has the IBAN {number}",
                where=str(self.address),
                hint="`bankctl consume bank.balances` lists the IBANs the bank knows",
            )
        return AccountRow(*rows[0])

    def accounts(self, ibans: Iterable[str] | None = None) -> dict[str, AccountRow]:
        """Every account by IBAN, or only those asked for."""
        if ibans is None:
            rows = self._rows(_ACCOUNTS)
        else:
            wanted = sorted(set(ibans))
            if not wanted:
                return {}
            marks = ", ".join(["%s"] * len(wanted))
            rows = self._rows(_ACCOUNTS + f" WHERE iban IN ({marks})", wanted)
        return {row[1]: AccountRow(*row) for row in rows}

    def ledger(self, account_id: int, limit: int) -> list[LedgerRow]:
        """The account's latest entries, oldest first."""
        rows = self._rows(
            "SELECT id, account_id, amount, balance_after, kind, reason, created_by_username, "
            "created_at FROM ledger_entry WHERE account_id = %s ORDER BY id DESC LIMIT %s",
            (account_id, limit),
        )
        return [LedgerRow(*row[:-1], created_at=epoch_ms(row[-1])) for row in reversed(rows)]

    def ledger_totals(self) -> list[LedgerTotals]:
        """Every account's balance beside the sum of its ledger (what `check_ledger` reads)."""
        return [LedgerTotals.from_row(row) for row in self._rows(LEDGER_TOTALS_SQL)]

    def orphan_entries(self) -> list[tuple[int, int]]:
        """(account id, entries) for ledger entries whose account does not exist."""
        return [(int(account), int(count)) for account, count in self._rows(ORPHAN_ENTRIES_SQL)]

    def gtid_position(self) -> str:
        """Where the binlog is now, as MariaDB GTIDs (domain-server-sequence, comma separated)."""
        return str(self._rows("SELECT @@gtid_binlog_pos")[0][0] or "")


_ACCOUNTS = "SELECT id, iban, balance, currency, status FROM account"


def epoch_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # Django writes UTC (USE_TZ)
    return int(moment.timestamp() * 1000)


def _explained(error: MySQLdb.OperationalError, address: DatabaseAddress) -> OpsError:
    code = error.args[0] if error.args else None
    message = error.args[1] if len(error.args) > 1 else str(error)
    where = f"{address.host}:{address.port}"
    if code in _CANNOT_CONNECT:
        return Unreachable(
            f"the database is not reachable: {message}",
            where=where,
            hint="is the stack up? `make status`; set BANK_DB_HOST/BANK_DB_PORT "
            "or pass --db-host/--db-port",
        )
    if code in _ACCESS_DENIED:
        return OpsError(
            f"the database refused user {address.user!r}: {message}",
            where=where,
            hint="set BANK_DB_USER and BANK_DB_PASSWORD as the system of record has them",
        )
    if code == _UNKNOWN_DATABASE:
        return NotFound(
            f"there is no database {address.name!r}", where=where, hint="set BANK_DB_NAME"
        )
    return OpsError(f"the database failed: {message}", where=where)
