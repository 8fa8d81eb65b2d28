"""The bank's settings: defaults for a developer's machine, the environment on top, a wrong value
refused by the name of its variable, and the published local-only secrets kept local."""

from __future__ import annotations

import pytest

from kernel.settings import (
    LOCAL_ONLY_DEFAULTS,
    ClerkLogin,
    ConfigurationError,
    DatabaseLogin,
    Settings,
    TopicSettings,
)
from sor.config import SystemOfRecordSettings

pytestmark = pytest.mark.unit


@pytest.fixture
def no_bank_variables(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    import os

    for name in list(os.environ):
        if name.startswith(("BANK_", "DJANGO_")):
            monkeypatch.delenv(name)
    return monkeypatch


def test_defaults_are_the_local_stacks_loopback_addresses(no_bank_variables):
    config = Settings.load()
    assert (config.host, config.db_port, config.kafka_port, config.soe_port) == (
        "127.0.0.1",
        3306,
        9092,
        8001,
    )
    assert config.kafka_bootstrap == "127.0.0.1:9092"
    assert config.registry_health_port == 8082, "next to the registry's port"
    assert config.schema_registry_url == "http://127.0.0.1:8081/apis/ccompat/v7"
    assert config.dashboard_origins == ["http://127.0.0.1:8001", "http://localhost:8001"]
    assert config.db_host == "127.0.0.1"
    assert TopicSettings.load().partitions == 6


def test_the_environment_overrides_a_default_and_what_follows_from_it(no_bank_variables):
    no_bank_variables.setenv("BANK_HOST", "10.1.2.3")
    no_bank_variables.setenv("BANK_KAFKA_PORT", "19092")
    no_bank_variables.setenv("BANK_TOPIC_PARTITIONS", "12")
    config = Settings.load()
    assert config.kafka_bootstrap == "10.1.2.3:19092"
    assert config.db_host == "10.1.2.3"
    assert TopicSettings.load().partitions == 12


def test_an_empty_variable_counts_as_unset(no_bank_variables):
    no_bank_variables.setenv("BANK_DB_PORT", "")
    assert Settings.load().db_port == 3306


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BANK_DB_PORT", "three"),
        ("BANK_SOE_PORT", "70000"),
        ("BANK_SOI_WORKERS", "0"),
        ("BANK_TOPIC_PARTITIONS", "0"),
        ("BANK_TOPIC_NAMESPACE", "bank alerts"),
    ],
)
def test_a_wrong_value_is_refused_by_the_name_of_its_variable(no_bank_variables, name, value):
    no_bank_variables.setenv(name, value)
    with pytest.raises(ConfigurationError, match=name):
        Settings.load()
        TopicSettings.load()


def test_a_change_moves_what_was_worked_out_from_it(no_bank_variables):
    moved = Settings.load().changed(host="0.0.0.0", kafka_port=1234)
    assert moved.kafka_bootstrap == "0.0.0.0:1234"
    assert Settings.load().kafka_bootstrap == "127.0.0.1:9092"


def test_local_development_gets_the_published_local_only_values(no_bank_variables):
    assert DatabaseLogin.load().password == LOCAL_ONLY_DEFAULTS["BANK_DB_PASSWORD"]
    clerk = ClerkLogin.load()
    assert (clerk.username, clerk.password) == ("clerk", "clerk-local-only")


@pytest.mark.parametrize(
    ("variable", "settings_class"),
    [
        ("BANK_DB_PASSWORD", DatabaseLogin),
        ("DJANGO_SECRET_KEY", SystemOfRecordSettings),
        ("DJANGO_SUPERUSER_USERNAME", ClerkLogin),
        ("DJANGO_SUPERUSER_PASSWORD", ClerkLogin),
    ],
)
def test_outside_local_a_local_only_variable_must_be_set(
    no_bank_variables, variable, settings_class
):
    no_bank_variables.setenv("BANK_ENV", "production")
    for name in LOCAL_ONLY_DEFAULTS:
        if name != variable:
            no_bank_variables.setenv(name, f"own-{name.lower()}")
    with pytest.raises(ConfigurationError, match=f"{variable} must be set when BANK_ENV"):
        settings_class.load()


@pytest.mark.parametrize(
    ("variable", "settings_class"),
    [("DJANGO_SECRET_KEY", SystemOfRecordSettings), ("BANK_DB_PASSWORD", DatabaseLogin)],
)
def test_outside_local_a_published_secret_is_refused(no_bank_variables, variable, settings_class):
    no_bank_variables.setenv("BANK_ENV", "production")
    no_bank_variables.setenv(variable, LOCAL_ONLY_DEFAULTS[variable])
    with pytest.raises(ConfigurationError, match=f"{variable} is the local-only"):
        settings_class.load()


def test_a_secret_is_kept_out_of_the_settings_repr(no_bank_variables):
    no_bank_variables.setenv("BANK_DB_PASSWORD", "s3cret-for-the-test")
    assert "s3cret" not in repr(DatabaseLogin.load())
