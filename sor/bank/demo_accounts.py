"""The demo customer's accounts: fixed numbers, so the README's examples, `make up` and every
fresh stack agree on them. Plain data, free of Django, for the runner and the docs' tests too."""

from __future__ import annotations

from sor.bank.iban import grouped, ours

# The demo customer's accounts in the order they are opened: account numbers 1, 2 and 3.
DEMO_IBANS: tuple[str, ...] = tuple(ours(number) for number in (1, 2, 3))
DEMO_CURRENCIES: tuple[str, ...] = ("EUR", "EUR", "USD")


def demo_accounts_line() -> str:
    """``NL58 LIVE 0000 0000 01 (EUR), …``: how `make up` and the seeding name them."""
    return ", ".join(
        f"{grouped(number)} ({currency})"
        for number, currency in zip(DEMO_IBANS, DEMO_CURRENCIES, strict=True)
    )
