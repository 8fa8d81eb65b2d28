"""Topic names: part of the product, documented in docs/events.md."""

CDC_PREFIX = "sor"
CDC_ACCOUNTS = f"{CDC_PREFIX}.bank.account"
CDC_LEDGER = f"{CDC_PREFIX}.bank.ledger_entry"
CDC_CUSTOMERS = f"{CDC_PREFIX}.bank.customer"

BALANCE_CHANGED = "bank.balance-changed"
BALANCES = "bank.balances"
ALERTS = "bank.alerts"
DEAD_LETTERS = "bank.dlq"
