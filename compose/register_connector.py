"""The compose stack's one-shot: register connect/sor-connector.json and wait until it runs.

It runs the local supervisor's own step (stack/connector.py) against the `connect` service,
whose address comes from BANK_HOST and BANK_CONNECT_PORT as everywhere else. Connect can answer its
REST API a moment before it accepts connectors, so refusals are retried for a while.

Usage (in the system of record's image): python compose/register_connector.py
"""

from __future__ import annotations

import sys

import httpx
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from kernel.connector import CONNECTOR_FILE
from kernel.settings import BankSettings, settings
from stack import connector

REGISTER_RETRY_SECONDS = 60


class RegistrationSettings(BankSettings):
    connector_timeout_seconds: int = 180


@retry(
    retry=retry_if_exception_type((httpx.HTTPError, connector.ConnectorFailed)),
    stop=stop_after_delay(REGISTER_RETRY_SECONDS),
    wait=wait_fixed(2),
    reraise=True,
)
def register() -> str:
    return connector.register(settings())


def main() -> int:
    config = settings()
    print(f"registering {CONNECTOR_FILE.name} with {config.connect_url}", flush=True)
    try:
        name = register()
        timeout = RegistrationSettings.load().connector_timeout_seconds
        connector.wait_until_running(config, name, timeout=timeout)
    except (httpx.HTTPError, connector.ConnectorFailed) as error:
        print(f"the connector did not start: {error}", file=sys.stderr)
        return 1
    print(f"connector {name} is RUNNING", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
