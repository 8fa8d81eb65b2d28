"""Topic names: part of the product, documented in docs/events.md."""

CDC_PREFIX = "sor"
# Account rows and ledger entries are routed by the connector into ONE topic keyed by account id,
# so a ledger entry and the balance update of the same transaction arrive in commit order.
CDC_MONEY = f"{CDC_PREFIX}.bank.money"
CDC_CUSTOMERS = f"{CDC_PREFIX}.bank.customer"

BALANCE_CHANGED = "bank.balance-changed"
BALANCES = "bank.balances"
ALERTS = "bank.alerts"
DEAD_LETTERS = "bank.dlq"
