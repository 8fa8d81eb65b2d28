"""Topic names and their partition count: part of the product, documented in docs/events.md."""

from __future__ import annotations

from dataclasses import dataclass

# The namespace, the partition count and the CDC prefix are settings (BANK_TOPIC_*).
from kernel.settings import DEFAULT_NAMESPACE, TopicSettings, check_namespace


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
    return DerivedTopics(check_namespace(namespace))


def configured_topics(settings: TopicSettings | None = None) -> DerivedTopics:
    """The derived topics of this process's namespace (BANK_TOPIC_NAMESPACE)."""
    return DerivedTopics((settings or TopicSettings.load()).namespace)


_CONFIGURED = TopicSettings.load()
CDC_PREFIX = _CONFIGURED.cdc_prefix
# Account rows and ledger entries are routed by the connector into ONE topic keyed by account id,
# so a ledger entry and the balance update of the same transaction arrive in commit order.
CDC_MONEY = f"{CDC_PREFIX}.bank.money"
CDC_CUSTOMERS = f"{CDC_PREFIX}.bank.customer"

BANK = derived_topics(DEFAULT_NAMESPACE)
BALANCE_CHANGED = BANK.balance_changed
BALANCES = BANK.balances
ALERTS = BANK.alerts
DEAD_LETTERS = BANK.dead_letters
