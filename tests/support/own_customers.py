"""Customers of the tests' own, with a dashboard login, opened through the system of record's
service layer (so their accounts reach the live feed like any other). The demo customer is left
as seeded: it is what a new user opens after `make test`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bench.bank_db import AccountRow
from kernel.settings import REPO_ROOT, Settings

# Runs inside the system of record's Django; idempotent, so every run reuses one customer.
_OPEN = """
import json, os
from django.contrib.auth.models import User
from sor.bank import services
from sor.bank.models import Customer
name, password = os.environ["TEST_LOGIN"], os.environ["TEST_PASSWORD"]
user, _ = User.objects.get_or_create(username=name, defaults={"email": name + "@test.local"})
user.set_password(password)
user.save()
customer, _ = Customer.objects.get_or_create(
    email=name + "@test.local", defaults={"name": "Test " + name, "user": user}
)
account = customer.accounts.filter(status="open", currency="EUR").order_by("id").first()
if account is None:
    account = services.open_account(customer, "EUR", opening_balance=100_000)
print(json.dumps([account.id, account.iban, account.balance, account.currency, account.status]))
"""


def customer_with_login(config: Settings, username: str, password: str) -> AccountRow:
    """An open EUR account of the test customer `username`, who signs in with `password`."""
    result = subprocess.run(
        [sys.executable, "sor/manage.py", "shell", "-c", _OPEN],
        cwd=REPO_ROOT,
        env={**os.environ, "TEST_LOGIN": username, "TEST_PASSWORD": password},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"could not open the test customer: {result.stderr[-2000:]}"
    return AccountRow(*json.loads(result.stdout.strip().splitlines()[-1]))
