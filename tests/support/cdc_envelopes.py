"""Debezium envelopes shaped exactly like those the running stack produces (see fixtures/cdc)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cdc"


def account(balance: int, **overrides: Any) -> dict[str, Any]:
    row = {
        "id": 7,
        "iban": "NL91ABNA0417164300",
        "customer_id": 3,
        "currency": "EUR",
        "balance": balance,
        "overdraft_limit": 100_000,
        "status": "open",
        "version": 1,
        "updated_at": 1795459807123,
    }
    row.update(overrides)
    return row


def envelope(
    op: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    pos: int = 3774,
    row: int = 0,
    file: str = "bank-bin.000002",
    table: str = "account",
    gtid: str = "0-1-34",
) -> bytes:
    return json.dumps(
        {
            "before": before,
            "after": after,
            "source": {
                "version": "3.5.0.Final",
                "connector": "mariadb",
                "name": "sor",
                "ts_ms": 1795459807000,
                "snapshot": "true" if op == "r" else "false",
                "db": "bank",
                "table": table,
                "server_id": 1,
                "gtid": gtid,
                "file": file,
                "pos": pos,
                "row": row,
            },
            "transaction": None,
            "op": op,
            "ts_ms": 1795459807997,
        }
    ).encode()


def ledger_entry(amount: int, balance_after: int, **overrides: Any) -> dict[str, Any]:
    row = {
        "id": 236,
        "account_id": 7,
        "amount": amount,
        "balance_after": balance_after,
        "kind": "deposit",
        "reason": "cash at the counter",
        "created_by_username": "clerk",
        "transfer_id": None,
        "idempotency_key": None,
        "created_at": 1795459807100,
        "created_by_id": 1,
    }
    row.update(overrides)
    return row


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()
