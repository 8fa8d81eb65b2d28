"""Realistic demo customers and accounts, the same every time for the same customer number.

Customer number n is always planned from the same random seed, so running the seeding again, or
with a larger size, adds only who is missing. Money is booked through ``sor.bank.services``, so
every opening balance is a ledger entry like any other.
"""

from __future__ import annotations

import math
import random
import unicodedata
from dataclasses import dataclass
from typing import TypeVar

from django.contrib.auth import get_user_model
from django.db import transaction

from sor.bank import services
from sor.bank.models import Customer
from sor.bank.money import minor_unit_digits

FIRST_NAMES = (
    "Anna", "Lukas", "Sofia", "Mateo", "Emma", "Jonas", "Chloé", "Noah", "Lena", "Luca",
    "Mia", "Elias", "Hannah", "Finn", "Zoë", "Liam", "Julia", "Milan", "Sara", "Daan",
    "Inès", "Tomás", "Freya", "Oskar", "Amélie", "Nikolai", "Eva", "Ruben", "Maja", "Hugo",
    "Leonie", "Pieter", "Clara", "Jan", "Ingrid", "Marco", "Aoife", "Sven", "Lucía", "Kofi",
)  # fmt: skip
LAST_NAMES = (
    "de Vries", "Müller", "García", "Rossi", "Jansen", "Dubois", "Novak", "Kowalski", "Silva",
    "Andersson", "Bakker", "Schmidt", "Martin", "Nielsen", "Costa", "Visser", "Fischer",
    "Lefèvre", "Horváth", "Murphy", "Smit", "Romano", "Berg", "Dijkstra", "Weber", "Moreau",
    "Petrović", "O'Brien", "Hansen", "Meijer", "Wagner", "Fernández", "Bos", "Eriksson",
    "Kaya", "Mensah", "Laurent", "Janssens", "Virtanen", "Nowak",
)  # fmt: skip

# Mostly euros, as a European bank's book would be; the value of one unit in euros.
CURRENCY_WEIGHTS = {"EUR": 85, "USD": 5, "GBP": 5, "CHF": 3, "JPY": 2}
EUROS_PER_UNIT = {"EUR": 1.0, "USD": 0.9, "GBP": 1.15, "CHF": 1.05, "JPY": 0.006}
ACCOUNTS_PER_CUSTOMER = {1: 15, 2: 35, 3: 35, 4: 15}

T = TypeVar("T")

DEMO_USERNAME = "demo"
DEMO_EMAIL = "demo@example.com"


@dataclass(frozen=True)
class AccountPlan:
    currency: str
    opening_balance: int
    terms: services.Terms


@dataclass(frozen=True)
class CustomerPlan:
    name: str
    email: str
    accounts: tuple[AccountPlan, ...]


def customer_plan(number: int) -> CustomerPlan:
    rng = random.Random(f"live-bank-customer-{number}")
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    email = f"{_ascii(first)}.{_ascii(last)}.{number}@example.com"
    count = _weighted(rng, ACCOUNTS_PER_CUSTOMER)
    return CustomerPlan(f"{first} {last}", email, tuple(_account_plan(rng) for _ in range(count)))


def demo_plan() -> CustomerPlan:
    """The customer the README's login shows: two euro accounts and one in dollars."""
    return CustomerPlan(
        "Dana Demo",
        DEMO_EMAIL,
        (
            AccountPlan("EUR", 245_000, services.Terms(50_000, 20_000)),
            AccountPlan("EUR", 1_200_000, services.Terms(0, None)),
            AccountPlan("USD", 80_000, services.Terms(0, 10_000)),
        ),
    )


def _account_plan(rng: random.Random) -> AccountPlan:
    currency = _weighted(rng, CURRENCY_WEIGHTS)
    opening_euros = 0.0 if rng.random() < 0.05 else rng.lognormvariate(math.log(1500), 1.2)
    overdraft_euros = rng.choice((0, 0, 0, 0, 0, 0, 0, 500, 1000, 2500))
    threshold_euros = rng.choice((None, None, None, 100, 250))
    return AccountPlan(
        currency,
        round(opening_euros / EUROS_PER_UNIT[currency] * 10 ** minor_unit_digits(currency)),
        services.Terms(
            _round_sum(overdraft_euros, currency),
            None if threshold_euros is None else _round_sum(threshold_euros, currency),
        ),
    )


def _round_sum(euros: int, currency: str) -> int:
    """A round sum in another currency worth about this many euros, in its minor units:
    banks agree on limits like 2,800 USD, not 2,777.78 USD."""
    if euros == 0:
        return 0
    units = euros / EUROS_PER_UNIT[currency]
    step = 10 ** max(0, math.floor(math.log10(units)) - 1)
    return round(units / step) * step * 10 ** minor_unit_digits(currency)


def _weighted(rng: random.Random, weights: dict[T, int]) -> T:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _ascii(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(char for char in plain.lower() if char.isalnum())


@dataclass
class Seeded:
    customers: int = 0
    accounts: int = 0


def populate(customers: int, demo_password: str) -> Seeded:
    """Creates whichever of customers 1..n and the demo customer are missing."""
    seeded = Seeded()
    for number in range(1, customers + 1):
        _ensure_customer(customer_plan(number), seeded)
    demo = _ensure_customer(demo_plan(), seeded)
    _ensure_demo_login(demo, demo_password)
    return seeded


def _ensure_customer(plan: CustomerPlan, seeded: Seeded) -> Customer:
    with transaction.atomic():
        customer, created = Customer.objects.get_or_create(
            email=plan.email, defaults={"name": plan.name}
        )
        if created or not customer.accounts.exists():
            for account in plan.accounts:
                services.open_account(
                    customer,
                    account.currency,
                    terms=account.terms,
                    opening_balance=account.opening_balance,
                )
            seeded.customers += created
            seeded.accounts += len(plan.accounts)
    return customer


def _ensure_demo_login(customer: Customer, password: str) -> None:
    user, created = get_user_model().objects.get_or_create(
        username=DEMO_USERNAME, defaults={"email": DEMO_EMAIL, "first_name": "Dana"}
    )
    if created or not user.check_password(password):
        user.set_password(password)
        user.save()
    if customer.user_id != user.pk:
        customer.user = user
        customer.save(update_fields=["user"])
