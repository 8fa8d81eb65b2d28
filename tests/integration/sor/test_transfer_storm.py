"""Many clerks transferring at once, in opposite directions: no deadlock, no money lost."""

import random
import threading
import time

import pytest
from django.core.management import call_command
from django.db import connections
from django.db.models import Sum

from sor.bank import services
from sor.bank.models import Account, LedgerEntry

pytestmark = [pytest.mark.database, pytest.mark.django_db(transaction=True)]

THREADS = 20
TRANSFERS_PER_THREAD = 50
OPENING_BALANCE = 1_000_000


@pytest.mark.timeout(300)
def test_a_storm_of_opposite_transfers_neither_deadlocks_nor_loses_money(open_account, capsys):
    accounts = [open_account(balance=OPENING_BALANCE).pk for _ in range(4)]
    failures: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def clerk(number: int) -> None:
        rng = random.Random(number)
        try:
            start.wait()
            for _ in range(TRANSFERS_PER_THREAD):
                # Half the clerks pay "down" the list and half "up", so pairs cross constantly.
                source, target = rng.sample(accounts, 2)
                if (number % 2) != (source > target):
                    source, target = target, source
                services.transfer(source, target, rng.randint(1, 500), reason=f"Storm {number}")
        except BaseException as error:
            failures.append(error)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=clerk, args=(number,)) for number in range(THREADS)]
    began = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - began

    assert failures == []
    transfers = THREADS * TRANSFERS_PER_THREAD
    with capsys.disabled():
        print(f"\n{transfers} transfers from {THREADS} threads: {transfers / elapsed:.0f}/s")

    storm = LedgerEntry.objects.filter(kind__in=["transfer_in", "transfer_out"])
    assert storm.count() == 2 * transfers
    assert storm.aggregate(total=Sum("amount"))["total"] == 0
    total = Account.objects.filter(pk__in=accounts).aggregate(total=Sum("balance"))["total"]
    assert total == 4 * OPENING_BALANCE
    call_command("check_ledger")
