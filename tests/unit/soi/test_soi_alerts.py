"""Alerts read in the account's currency, and their lines are drawn per currency."""

import pytest

from kernel.settings import ConfigurationError
from soi.alerts import PerCurrency, Thresholds, raised_by

pytestmark = pytest.mark.unit


def alerts(currency: str, old: int, new: int, thresholds: Thresholds | None = None):
    return raised_by(
        event_id="e",
        iban="NL91LIVE0000000001",
        customer_id=1,
        currency=currency,
        old_balance=old,
        new_balance=new,
        old_status="open",
        new_status="open",
        account_threshold=None,
        thresholds=thresholds or Thresholds.from_environment(),
        now_ms=0,
    )


@pytest.fixture(autouse=True)
def _default_thresholds(monkeypatch):
    for name in ("BANK_ALERT_LOW_BALANCES", "BANK_ALERT_LARGE_MOVEMENTS"):
        monkeypatch.delenv(name, raising=False)


def test_a_yen_amount_is_shown_in_whole_yen():
    [large] = alerts("JPY", 0, 1_000_000)
    assert large["kind"] == "large_movement"
    assert large["message"] == "A movement of +1,000,000 JPY on NL91LIVE0000000001"


def test_a_euro_low_balance_reads_in_euros_with_cents():
    [low] = alerts("EUR", 20_000, 8_800)
    assert low["message"] == "NL91LIVE0000000001 fell below 100.00 EUR: 88.00 EUR"
    assert low["threshold"] == 10_000  # minor units, like every amount in an event


def test_the_low_balance_line_is_per_currency():
    # 100 yen is not a low balance line: 10,000 JPY falling to 9,000 JPY crosses the yen's.
    assert [a["kind"] for a in alerts("JPY", 20_000, 9_000)] == ["low_balance"]
    assert alerts("JPY", 200, 90) == []
    assert [a["kind"] for a in alerts("EUR", 20_000, 9_000)] == ["low_balance"]


def test_thresholds_come_from_the_environment_in_major_units(monkeypatch):
    monkeypatch.setenv("BANK_ALERT_LOW_BALANCES", "50,JPY:5000")
    monkeypatch.setenv("BANK_ALERT_LARGE_MOVEMENTS", "1000.50")
    thresholds = Thresholds.from_environment()
    assert thresholds.low_balance.minor("EUR") == 5_000
    assert thresholds.low_balance.minor("JPY") == 5_000
    assert thresholds.large_movement.minor("KWD") == 1_000_500
    assert thresholds.large_movement.minor("XYZ") is None


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("BANK_ALERT_LOW_BALANCES", "JPY:5000", "no amount for every other currency"),
        ("BANK_ALERT_LOW_BALANCES", "100,XYZ:5", "'XYZ' is not a currency"),
        ("BANK_ALERT_LARGE_MOVEMENTS", "\uff15000", "not an amount in major units"),
        ("BANK_ALERT_LOW_BALANCE", "10000", "no longer read; set BANK_ALERT_LOW_BALANCES"),
    ],
)
def test_a_bad_threshold_setting_is_named(monkeypatch, name, value, says):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=says):
        Thresholds.from_environment()


def test_an_unknown_currency_gets_no_configured_line_but_still_overdraft():
    thresholds = Thresholds(PerCurrency.parse("l", "100"), PerCurrency.parse("m", "5000"))
    [overdraft] = alerts("XYZ", 100, -100, thresholds)
    assert overdraft["message"] == "NL91LIVE0000000001 is overdrawn: -100 XYZ (minor units)"
