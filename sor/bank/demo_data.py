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
from django.db import IntegrityError, transaction

from sor.bank import iban, services
from sor.bank.demo_accounts import DEMO_CURRENCIES, DEMO_IBANS
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
    iban: str


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
    accounts = tuple(_account_plan(rng, _seeded_iban(number, i)) for i in range(count))
    return CustomerPlan(f"{first} {last}", email, accounts)


def _seeded_iban(customer: int, index: int) -> str:
    # A random number of its own per account, so a fresh stack has the same IBANs every time;
    # from 10^9 up, clear of the demo customer's low numbers.
    rng = random.Random(f"live-bank-account-number-{customer}-{index}")
    return iban.ours(rng.randrange(10**9, 10**10))


def demo_plan() -> CustomerPlan:
    """The customer the README's login shows: two euro accounts and one in dollars, with the
    fixed IBANs of ``demo_accounts``."""
    balances = (245_000, 1_200_000, 80_000)
    terms = (services.Terms(50_000, 20_000), services.Terms(0, None), services.Terms(0, 10_000))
    return CustomerPlan(
        "Dana Demo",
        DEMO_EMAIL,
        tuple(
            AccountPlan(currency, balance, term, number)
            for currency, balance, term, number in zip(
                DEMO_CURRENCIES, balances, terms, DEMO_IBANS, strict=True
            )
        ),
    )


def _account_plan(rng: random.Random, number: str) -> AccountPlan:
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
        number,
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
    demo = _ensure_customer(demo_plan(), seeded, fixed_ibans=True)
    _ensure_demo_login(demo, demo_password)
    return seeded


def _ensure_customer(plan: CustomerPlan, seeded: Seeded, fixed_ibans: bool = False) -> Customer:
    with transaction.atomic():
        customer, created = Customer.objects.get_or_create(
            email=plan.email, defaults={"name": plan.name}
        )
        if created or not customer.accounts.exists():
            for account in plan.accounts:
                _open(customer, account, fixed_ibans)
            seeded.customers += created
            seeded.accounts += len(plan.accounts)
    return customer


def _open(customer: Customer, plan: AccountPlan, fixed_iban: bool) -> None:
    def open_with(number: str | None) -> None:
        services.open_account(
            customer,
            plan.currency,
            terms=plan.terms,
            opening_balance=plan.opening_balance,
            iban_wanted=number,
        )

    try:
        open_with(plan.iban)
    except IntegrityError:
        if fixed_iban:
            raise
        # Another account took this number first (one opened by hand); any free one will do.
        open_with(None)


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
