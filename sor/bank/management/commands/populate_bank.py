"""Seeds realistic demo customers and accounts, and the `demo` customer; safe to run again."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from kernel.settings import DemoLogin
from sor.bank.demo_accounts import demo_accounts_line
from sor.bank.demo_data import DEMO_USERNAME, populate
from sor.bank.models import Account, Customer


class Command(BaseCommand):
    help = (
        "Create demo customers 1..N with their accounts (about 2.5 each, mostly EUR) and the "
        "customer `demo` (password from BANK_DEMO_PASSWORD). Only what is missing is created."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--customers", type=int, default=100, help="How many demo customers (default 100)."
        )

    def handle(self, *args: Any, customers: int, **options: Any) -> None:
        if customers < 0:
            raise CommandError(f"--customers must be zero or more, not {customers}")
        seeded = populate(customers, DemoLogin.load().password)
        self.stdout.write(
            f"Created {seeded.customers} customers and {seeded.accounts} accounts; the bank now "
            f"has {Customer.objects.count()} customers and {Account.objects.count()} accounts. "
            f"The demo customer signs in as {DEMO_USERNAME!r}; their accounts: "
            f"{demo_accounts_line()}."
        )
