"""The balancer in front of the gateways (BANK_SOE_GATEWAYS): where everything listens, and the
HAProxy configuration the stack renders, checked by HAProxy itself."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from unittest import mock

import pytest

from kernel.settings import ConfigurationError, settings
from stack import processes
from stack.balancer import Server, _parse_stat, haproxy_config
from stack.cli import balancer_line

pytestmark = pytest.mark.unit


def stack_settings(**variables: str):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BANK_")}
    with mock.patch.dict(os.environ, {**clean, **variables}, clear=True):
        return settings.__wrapped__()


def applications(**variables: str) -> dict[str, processes.Process]:
    config = stack_settings(**variables)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BANK_")}
    with mock.patch.dict(os.environ, {**clean, **variables}, clear=True):
        return {p.name: p for p in processes.applications(config)}


def test_one_gateway_is_today_exactly_no_balancer_on_the_dashboards_port():
    running = applications()
    assert "balancer" not in running and "soe-2" not in running
    assert running["soe"].ports == {"http": 8001}
    assert "BANK_TRUSTED_PROXIES" not in running["soe"].env


def test_two_gateways_listen_on_derived_ports_behind_the_balancer_on_the_dashboards_port():
    running = applications(BANK_SOE_GATEWAYS="2")
    assert list(running)[-3:] == ["soe", "soe-2", "balancer"]
    assert running["balancer"].ports == {"http": 8001}
    assert [running[n].ports["http"] for n in ("soe", "soe-2")] == [8011, 8012]
    assert running["balancer"].command[0] == "haproxy"


def test_the_gateways_ports_move_with_the_dashboards_port():
    config = stack_settings(BANK_SOE_GATEWAYS="2", BANK_SOE_PORT="23001")
    assert [config.gateway_port(n) for n in (1, 2)] == [23011, 23012]


def test_gateways_behind_the_balancer_believe_its_forwarded_address_and_the_operators_proxies():
    running = applications(BANK_SOE_GATEWAYS="2", BANK_TRUSTED_PROXIES="10.0.0.5")
    for name in ("soe", "soe-2"):
        assert running[name].env["BANK_TRUSTED_PROXIES"] == "10.0.0.5,127.0.0.1"


def test_zero_gateways_is_refused_with_the_variables_name():
    with pytest.raises(ConfigurationError, match="BANK_SOE_GATEWAYS"):
        stack_settings(BANK_SOE_GATEWAYS="0")


def rendered(tmp_path: Path) -> str:
    return haproxy_config(
        host="127.0.0.1",
        port=8001,
        servers=[Server("soe", "127.0.0.1", 8011), Server("soe-2", "127.0.0.1", 8012)],
        max_connections=20_000,
        stats_socket=tmp_path / "balancer.sock",
    )


def test_the_balancer_checks_ready_forwards_the_client_and_keeps_websockets_open(tmp_path):
    config = rendered(tmp_path)
    assert "bind 127.0.0.1:8001" in config
    assert "option httpchk GET /ready" in config
    assert "server soe 127.0.0.1:8011 check" in config
    assert "server soe-2 127.0.0.1:8012 check" in config
    # The client's own X-Forwarded-For is dropped before the balancer writes the real one.
    assert config.index("del-header X-Forwarded-For") < config.index("option forwardfor")
    assert "timeout tunnel 1h" in config
    assert "on-marked-down shutdown-sessions" in config


def test_haproxy_accepts_the_rendered_configuration(tmp_path):
    haproxy = shutil.which("haproxy")
    if haproxy is None:
        pytest.fail("HAProxy is not installed (stack/install-system-packages.sh installs it)")
    path = tmp_path / "haproxy.cfg"
    path.write_text(rendered(tmp_path))
    check = subprocess.run([haproxy, "-c", "-f", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_stats_answer_gives_each_gateways_state():
    answer = (
        "# pxname,svname,qcur,status,weight\n"
        "dashboard,FRONTEND,,OPEN,\n"
        "gateways,soe,0,UP,1\n"
        "gateways,soe-2,0,DOWN,1\n"
        "gateways,BACKEND,0,UP,1\n"
    )
    assert _parse_stat(answer) == {"soe": "UP", "soe-2": "DOWN"}


def test_make_status_says_which_gateways_the_balancer_sends_clients_to():
    line = balancer_line({"soe": "UP", "soe-2": "DOWN"})
    assert line == "balancer sends clients to: soe UP, soe-2 DOWN"
    assert "does not answer" in balancer_line({})
