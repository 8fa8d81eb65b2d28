"""The management commands the stack runs: seeding demo data and making the clerk's login."""

import os
import re
import subprocess
import sys

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection

from kernel.settings import REPO_ROOT
from sor.bank import iban
from sor.bank.demo_accounts import DEMO_IBANS
from sor.bank.demo_data import customer_plan
from sor.bank.models import Account, Customer, LedgerEntry

pytestmark = [pytest.mark.database, pytest.mark.django_db]


def test_seeding_makes_realistic_customers_and_the_demo_login(monkeypatch):
    monkeypatch.setenv("BANK_DEMO_PASSWORD", "demo-test-password")
    call_command("populate_bank", customers=20)

    assert Customer.objects.count() == 21
    accounts = Account.objects.all()
    assert 30 <= accounts.count() <= 85
    assert all(iban.is_valid(account.iban) for account in accounts)
    assert accounts.filter(currency="EUR").count() > accounts.count() / 2
    openings = LedgerEntry.objects.filter(kind="opening")
    assert openings.count() == accounts.exclude(balance=0).count()

    demo = Customer.objects.get(user__username="demo")
    assert 2 <= demo.accounts.count() <= 3
    assert authenticate(username="demo", password="demo-test-password") is not None
    call_command("check_ledger")


def test_seeding_again_adds_only_who_is_missing(monkeypatch):
    monkeypatch.setenv("BANK_DEMO_PASSWORD", "demo-test-password")
    call_command("populate_bank", customers=5)
    before = (Customer.objects.count(), Account.objects.count(), LedgerEntry.objects.count())
    call_command("populate_bank", customers=5)
    assert (Customer.objects.count(), Account.objects.count()) == before[:2]
    assert LedgerEntry.objects.count() == before[2]

    call_command("populate_bank", customers=8)
    assert Customer.objects.count() == 9


def test_every_fresh_stack_seeds_the_same_ibans_the_demos_fixed_ones_first(monkeypatch):
    monkeypatch.setenv("BANK_DEMO_PASSWORD", "demo-test-password")
    call_command("populate_bank", customers=3)

    demo = Customer.objects.get(user__username="demo")
    assert [a.iban for a in demo.accounts.order_by("id")] == list(DEMO_IBANS)
    first = Customer.objects.get(email=customer_plan(1).email)
    assert sorted(a.iban for a in first.accounts.all()) == sorted(
        p.iban for p in customer_plan(1).accounts
    )
    assert customer_plan(1) == customer_plan(1), "the plan is the same every time"


# An IBAN of this bank as the docs write it, compact or in groups of four.
_OUR_IBAN = re.compile(r"\bNL[0-9]{2} ?LIVE(?: ?[0-9]{4}){2} ?[0-9]{2}\b")


def test_every_iban_in_the_readme_and_bankctls_help_exists_after_seeding(monkeypatch):
    monkeypatch.setenv("BANK_DEMO_PASSWORD", "demo-test-password")
    call_command("populate_bank", customers=0)
    docs = [REPO_ROOT / "README.md", REPO_ROOT / "ops" / "cli.py", *REPO_ROOT.glob("docs/*.md")]
    shown = {iban.normalize(m) for path in docs for m in _OUR_IBAN.findall(path.read_text())}

    assert shown, "the README shows no IBAN to try"
    missing = shown - set(Account.objects.values_list("iban", flat=True))
    assert not missing, f"IBANs in the docs that no fresh stack has: {sorted(missing)}"


def test_the_clerk_login_is_made_once_and_follows_the_environment(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "head-clerk")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "first-password")
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "head@bank.test")
    call_command("ensure_clerk")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "rotated-password")
    call_command("ensure_clerk")

    clerk = User.objects.get(username="head-clerk")
    assert clerk.is_staff and clerk.is_superuser
    assert authenticate(username="head-clerk", password="rotated-password") == clerk


# Transactional: the script's own connection must see the test database's committed state, and
# what it writes is flushed afterwards.
@pytest.mark.django_db(transaction=True)
def test_the_seed_script_runs_populate_bank_from_any_directory(tmp_path):
    """populate-db.sh finds manage.py beside itself, and takes the size as its argument."""
    environment = {
        **os.environ,
        "BANK_DB_NAME": connection.settings_dict["NAME"],
        "PATH": f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}",
    }
    result = subprocess.run(
        [str(REPO_ROOT / "populate-db.sh"), "3"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "The demo customer signs in as 'demo'" in result.stdout

    refused = subprocess.run(
        [str(REPO_ROOT / "populate-db.sh"), "many"], capture_output=True, text=True, check=False
    )
    assert refused.returncode == 2
    assert "must be a whole number" in refused.stderr
