"""Topic names: part of the product, documented in docs/events.md."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

# The connector's topic.prefix. Only a test's scratch worker sets BANK_CDC_TOPIC_PREFIX, to read
# CDC topics of its own instead of the bank's.
CDC_PREFIX = os.environ.get("BANK_CDC_TOPIC_PREFIX") or "sor"
# Account rows and ledger entries are routed by the connector into ONE topic keyed by account id,
# so a ledger entry and the balance update of the same transaction arrive in commit order.
CDC_MONEY = f"{CDC_PREFIX}.bank.money"
CDC_CUSTOMERS = f"{CDC_PREFIX}.bank.customer"

# The derived topics live under a namespace (BANK_TOPIC_NAMESPACE), so tests can run a gateway on
# scratch topics of their own without writing into the bank's real ones.
DEFAULT_NAMESPACE = "bank"
_LEGAL_NAMESPACE = re.compile(r"[A-Za-z0-9._-]{1,200}")  # Kafka allows these, up to 249 a name


@dataclass(frozen=True)
class DerivedTopics:
    """The topics the system of integration writes and the gateway reads, under one namespace."""

    namespace: str

    @property
    def balance_changed(self) -> str:
        return f"{self.namespace}.balance-changed"

    @property
    def balances(self) -> str:
        return f"{self.namespace}.balances"

    @property
    def alerts(self) -> str:
        return f"{self.namespace}.alerts"

    @property
    def dead_letters(self) -> str:
        return f"{self.namespace}.dlq"

    def names(self) -> tuple[str, str, str, str]:
        """Every derived topic, always in this order, so two namespaces can be paired up."""
        return (self.balance_changed, self.balances, self.alerts, self.dead_letters)


def derived_topics(namespace: str = DEFAULT_NAMESPACE) -> DerivedTopics:
    if not _LEGAL_NAMESPACE.fullmatch(namespace):
        raise ValueError(
            f"topic namespace {namespace!r} is not usable in a Kafka topic name: "
            "use 1 to 200 letters, digits, '.', '_' or '-'"
        )
    return DerivedTopics(namespace)


BANK = derived_topics(DEFAULT_NAMESPACE)
BALANCE_CHANGED = BANK.balance_changed
BALANCES = BANK.balances
ALERTS = BANK.alerts
DEAD_LETTERS = BANK.dead_letters
