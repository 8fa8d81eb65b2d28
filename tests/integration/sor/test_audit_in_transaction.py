"""Who changed an account's status or terms is written in the change's own transaction: if the
audit row cannot be written, the change does not happen either."""

import pytest
from django.contrib.admin.models import LogEntry

from sor.bank import audit
from sor.bank.admin import AccountAdmin

pytestmark = [pytest.mark.database, pytest.mark.django_db(transaction=True)]


class AuditDown(RuntimeError):
    pass


@pytest.fixture
def audit_down(monkeypatch):
    def refuse(*args, **kwargs):
        raise AuditDown("the audit table is not writable")

    monkeypatch.setattr(audit, "record_change", refuse)
    monkeypatch.setattr(AccountAdmin, "log_change", refuse)


def test_an_api_freeze_is_audited(api, open_account):
    account = open_account(balance=1_000)
    answer = api.post(
        f"/api/accounts/{account.iban}/freeze/", {"version": account.version, "reason": "Test"}
    )
    assert answer.status_code == 200
    entry = LogEntry.objects.get(object_id=str(account.pk))
    assert entry.change_message == "Froze the account through the API"


@pytest.mark.usefixtures("audit_down")
def test_an_api_freeze_whose_audit_fails_is_not_made(api, open_account):
    account = open_account(balance=1_000)
    with pytest.raises(AuditDown):
        api.post(
            f"/api/accounts/{account.iban}/freeze/", {"version": account.version, "reason": "Test"}
        )
    account.refresh_from_db()
    assert (account.status, account.version) == ("open", 2)


@pytest.mark.usefixtures("audit_down")
def test_an_api_terms_change_whose_audit_fails_is_not_made(api, open_account):
    account = open_account(balance=1_000)
    with pytest.raises(AuditDown):
        api.patch(
            f"/api/accounts/{account.iban}/",
            {"version": account.version, "overdraft_limit": "50.00"},
            format="json",
        )
    account.refresh_from_db()
    assert (account.overdraft_limit, account.version) == (0, 2)


@pytest.mark.usefixtures("audit_down")
def test_an_admin_freeze_whose_audit_fails_is_not_made(clerk, open_account, sign_in_to_admin):
    account = open_account(balance=1_000)
    desk = sign_in_to_admin(clerk)
    with pytest.raises(AuditDown):
        desk.post(
            "/admin/bank/account/",
            {
                "action": "freeze",
                "_selected_action": [account.pk],
                "apply": "1",
                "reason": "Test",
            },
        )
    account.refresh_from_db()
    assert account.status == "open"
