"""The compose cluster variant (docker-compose.cluster.yml over docker-compose.yml), as Compose's
own loader merges them: 3 Kafka nodes, 2 Connect workers, 2 Faust workers, 2 gateways behind
HAProxy on the dashboard's port, every stage replicated and every client on all three nodes.
(compose-go checks the merged model against the Compose Specification's schema; the plain JSON
schema check cannot read the override's `!override` and `!reset` tags.)"""

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from stack.balancer import COMPOSE_GATEWAYS, compose_config
from tests.support.compose_model import COMPOSE_FILE, ENV_EXAMPLE, REPO_ROOT, is_one_shot

pytestmark = pytest.mark.unit

CLUSTER_FILE = REPO_ROOT / "docker-compose.cluster.yml"
NODES = ("kafka", "kafka-2", "kafka-3")
BOOTSTRAP = "kafka:19092,kafka-2:19092,kafka-3:19092"


def _load(config_check: Path, env_file: Path = ENV_EXAMPLE) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(config_check),
            "-f",
            str(COMPOSE_FILE),
            "-f",
            str(CLUSTER_FILE),
            "-env-file",
            str(env_file),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def project(config_check: Path) -> dict[str, Any]:
    result = _load(config_check)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def cluster(project: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return project["services"]


def test_every_stage_runs_replicated(cluster):
    for names in (NODES, ("connect", "connect-2"), ("soi", "soi-2"), COMPOSE_GATEWAYS):
        assert set(names) <= set(cluster), names
    assert "balancer" in cluster


def test_three_kafka_nodes_form_one_quorum_and_replicate_every_topic_three_times(cluster):
    voters = "1@kafka:9093,2@kafka-2:9093,3@kafka-3:9093"
    ids, volumes, published = set(), set(), set()
    for node in NODES:
        env = cluster[node]["environment"]
        assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == voters, node
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller", node
        for factor in (
            "KAFKA_DEFAULT_REPLICATION_FACTOR",
            "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
            "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        ):
            assert env[factor] == "3", (node, factor)
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2", node
        assert env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "2", node
        assert f"PLAINTEXT://{node}:19092" in env["KAFKA_ADVERTISED_LISTENERS"], node
        ids.add(env["KAFKA_NODE_ID"])
        volumes |= {v["source"] for v in cluster[node]["volumes"]}
        published |= {p["published"] for p in cluster[node]["ports"]}
        assert len(cluster[node]["ports"]) == 1, node
    assert ids == {"1", "2", "3"}
    assert len(volumes) == 3, "each node keeps its own log directory"
    assert len(published) == 3, "each node's external listener is reachable from the host"


def test_every_client_bootstraps_from_all_three_nodes_and_waits_for_them(cluster):
    for name in ("connect", "connect-2", "soi", "soi-2", *COMPOSE_GATEWAYS):
        env = cluster[name]["environment"]
        assert env["BANK_KAFKA_BOOTSTRAP"] == BOOTSTRAP, name
        for node in NODES:
            assert cluster[name]["depends_on"][node]["condition"] == "service_healthy", name
    assert cluster["registry"]["environment"]["APICURIO_KAFKASQL_BOOTSTRAP_SERVERS"] == BOOTSTRAP


def test_two_connect_workers_share_one_group_with_replicated_internal_topics(cluster):
    workers = [cluster[name]["environment"] for name in ("connect", "connect-2")]
    assert {env["GROUP_ID"] for env in workers} == {"bank-connect"}
    assert [env["ADVERTISED_HOST_NAME"] for env in workers] == ["connect", "connect-2"]
    for env in workers:
        assert env["BOOTSTRAP_SERVERS"] == BOOTSTRAP
        for topic in ("CONFIG", "OFFSET", "STATUS"):
            assert env[f"CONNECT_{topic}_STORAGE_REPLICATION_FACTOR"] == "3"
    assert "connect-2" in cluster["register-connector"]["depends_on"]


def test_two_faust_workers_run_the_same_command_with_replicated_topics(cluster):
    assert cluster["soi"]["command"] == cluster["soi-2"]["command"]
    for name in ("soi", "soi-2"):
        assert cluster[name]["environment"]["BANK_TOPIC_REPLICATION"] == "3", name


def test_only_the_balancer_publishes_the_dashboards_port_and_the_gateways_trust_its_network(
    project, cluster
):
    assert [(p["target"], p["published"]) for p in cluster["balancer"]["ports"]] == [(8001, "8001")]
    (subnet,) = project["networks"]["default"]["ipam"]["config"]
    assert subnet["subnet"] == "172.30.42.0/24"
    for name in COMPOSE_GATEWAYS:
        assert not cluster[name].get("ports"), f"{name} must be reached through the balancer"
        assert cluster[name]["command"] == cluster["soe"]["command"]
        assert cluster[name]["environment"]["BANK_TRUSTED_PROXIES"] == "172.30.42.0/24"
        assert cluster["balancer"]["depends_on"][name]["condition"] == "service_healthy"


def test_the_balancers_configuration_is_the_one_the_stack_renders():
    committed = (REPO_ROOT / "compose" / "haproxy.cfg").read_text()
    assert committed == compose_config(), (
        "compose/haproxy.cfg is stale: python -m stack.balancer > compose/haproxy.cfg"
    )


def test_haproxy_accepts_the_compose_configuration():
    # The gateways' names resolve only inside the compose network: HAProxy starts without them.
    check = subprocess.run(
        ["haproxy", "-c", "-f", str(REPO_ROOT / "compose" / "haproxy.cfg")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_every_long_running_service_of_the_cluster_has_a_healthcheck(cluster):
    for name, service in cluster.items():
        if not is_one_shot(service):
            assert service["healthcheck"]["test"], name
            assert service["restart"] == "unless-stopped", name


def test_a_moved_dashboard_port_moves_the_balancer_and_the_gateways_origins(config_check, tmp_path):
    moved = tmp_path / "moved.env"
    moved.write_text(ENV_EXAMPLE.read_text() + "BANK_SOE_PORT=18001\n")
    result = _load(config_check, moved)
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    assert [p["published"] for p in services["balancer"]["ports"]] == ["18001"]
    for name in COMPOSE_GATEWAYS:
        origins = services[name]["environment"]["BANK_DASHBOARD_ORIGINS"]
        assert "http://127.0.0.1:18001" in origins, name
