"""Who changed an account's status or terms, kept in the admin's history of the account.

Balance changes need no entry here: each is a ledger entry naming its clerk.
"""

from __future__ import annotations

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.base_user import AbstractBaseUser

from sor.bank.models import Account


def record_change(by: AbstractBaseUser, account: Account, what: str) -> None:
    LogEntry.objects.log_actions(
        user_id=by.pk,
        queryset=[account],
        action_flag=CHANGE,
        change_message=what,
        single_object=True,
    )
