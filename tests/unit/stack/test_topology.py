"""BANK_TOPOLOGY: `single` (the default) runs every stage once with one copy of each topic, as
before; `cluster` fills in the replicated stages' knobs (3 Kafka nodes, 2 Connect workers,
2 Faust workers, 2 gateways), every topic with 3 copies of which 2 must have each write, and
every producer waiting for them. Ports of the extra processes come from the configured ones."""

from __future__ import annotations

import ast
import os
from pathlib import Path
from unittest import mock

import pytest

from kernel import connector
from kernel.settings import REPO_ROOT, ConfigurationError, Settings, settings
from stack import kafka_node, processes, topology

pytestmark = pytest.mark.unit

# The ports an engineer's env file moves (here: the block 13000-13999).
MOVED_PORTS = {
    "BANK_DB_PORT": "13306",
    "BANK_KAFKA_PORT": "13092",
    "BANK_KAFKA_CONTROLLER_PORT": "13093",
    "BANK_CONNECT_PORT": "13083",
    "BANK_SOR_PORT": "13000",
    "BANK_SOE_PORT": "13001",
    "BANK_SOI_WEB_PORT": "13066",
    "BANK_REGISTRY_PORT": "13081",
    "BANK_REGISTRY_HEALTH_PORT": "13082",
}
DEFAULT_PORTS = {3306, 9092, 9093, 8083, 8000, 8001, 6066, 8081, 8082}


def configured(**variables: str) -> Settings:
    """The settings of an environment holding only these BANK_* variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BANK_")}
    with mock.patch.dict(os.environ, {**clean, **variables}, clear=True):
        return settings.__wrapped__()


def connector_config(**variables: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BANK_")}
    with mock.patch.dict(os.environ, {**clean, **variables}, clear=True):
        settings.cache_clear()
        try:
            return connector.load_connector()[1]
        finally:
            settings.cache_clear()


def every_process(config: Settings) -> list[processes.Process]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BANK_")}
    with mock.patch.dict(os.environ, clean, clear=True):
        return processes.infrastructure(config) + processes.applications(config)


def test_the_default_topology_runs_every_stage_once_with_one_copy_of_each_topic():
    single = configured()
    assert single.topology == "single"
    counts = (single.kafka_nodes, single.connect_workers, single.soi_workers, single.soe_gateways)
    assert counts == (1, 1, 1, 1)
    assert (single.replication_factor, single.min_insync_replicas) == (1, 1)
    assert single.kafka_bootstrap == "127.0.0.1:9092"
    names = [p.name for p in every_process(single)]
    assert names[:4] == ["mariadb", "kafka", "registry", "connect"]
    assert names.count("kafka") == 1 and not [n for n in names if n.startswith("kafka-")]
    assert (single.kafka_heap, single.connect_heap) == ("512m", "768m")


def test_the_single_brokers_properties_are_unchanged():
    broker = kafka_node.kafka_properties(configured())
    assert broker["controller.quorum.voters"] == "1@127.0.0.1:9093"
    assert broker["offsets.topic.replication.factor"] == 1
    assert broker["transaction.state.log.min.isr"] == 1
    assert "default.replication.factor" not in broker
    assert "min.insync.replicas" not in broker
    assert str(broker["log.dirs"]).endswith("data/kafka")
    assert "topic.creation.default.min.insync.replicas" not in connector_config()
    assert processes.registry_replication(configured()) == ()


def test_the_cluster_preset_replicates_every_stage():
    cluster = configured(BANK_TOPOLOGY="cluster")
    counts = (cluster.kafka_nodes, cluster.connect_workers, cluster.soi_workers)
    assert counts == (3, 2, 2)
    assert cluster.soe_gateways == 2
    assert (cluster.replication_factor, cluster.min_insync_replicas) == (3, 2)
    assert cluster.kafka_bootstrap == "127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096"
    names = {p.name for p in every_process(cluster)}
    assert {"kafka", "kafka-2", "kafka-3", "connect", "connect-2", "soi", "soi-2"} <= names


def test_a_stages_own_variable_wins_over_the_preset():
    config = configured(BANK_TOPOLOGY="cluster", BANK_SOI_WORKERS="3", BANK_CONNECT_WORKERS="1")
    assert (config.kafka_nodes, config.connect_workers, config.soi_workers) == (3, 1, 3)


def test_an_unknown_topology_or_an_empty_stage_is_refused_with_the_variable_named():
    with pytest.raises(ConfigurationError, match="BANK_TOPOLOGY='ring'"):
        configured(BANK_TOPOLOGY="ring")
    with pytest.raises(ConfigurationError, match="BANK_KAFKA_NODES='0'"):
        configured(BANK_KAFKA_NODES="0")


def test_each_cluster_node_is_a_voter_with_ports_and_data_of_its_own():
    cluster = configured(BANK_TOPOLOGY="cluster")
    nodes = [kafka_node.kafka_properties(cluster, n) for n in (1, 2, 3)]
    voters = "1@127.0.0.1:9093,2@127.0.0.1:9095,3@127.0.0.1:9097"
    assert {n["controller.quorum.voters"] for n in nodes} == {voters}
    assert [n["node.id"] for n in nodes] == [1, 2, 3]
    assert len({n["listeners"] for n in nodes}) == 3
    assert len({str(n["log.dirs"]) for n in nodes}) == 3
    for node in nodes:
        assert node["default.replication.factor"] == 3
        assert node["min.insync.replicas"] == 2
        assert node["offsets.topic.replication.factor"] == 3
        assert node["transaction.state.log.replication.factor"] == 3
        assert node["transaction.state.log.min.isr"] == 2
        assert node["unclean.leader.election.enable"] == "false"


def test_every_topic_we_create_or_have_created_gets_three_copies_on_a_cluster():
    cluster = configured(BANK_TOPOLOGY="cluster")
    workers = [processes.connect_properties(cluster, n) for n in (1, 2)]
    for worker in workers:
        for store in ("config", "offset", "status"):
            assert worker[f"{store}.storage.replication.factor"] == 3
        assert worker["group.id"] == "bank-connect"
        # A dead worker's task moves at the next rebalance, not after 5 minutes.
        assert worker["scheduled.rebalance.max.delay.ms"] == 0
    assert workers[0]["rest.advertised.port"] != workers[1]["rest.advertised.port"]
    created = connector_config(BANK_TOPOLOGY="cluster")
    assert created["topic.creation.default.replication.factor"] == "3"
    assert created["topic.creation.default.min.insync.replicas"] == "2"
    assert created["schema.history.internal.producer.acks"] == "all"
    assert processes.registry_replication(cluster) == (
        "-Dapicurio.kafkasql.topic.min.insync.replicas=2",
    )
    registry = next(p for p in every_process(cluster) if p.name == "registry")
    assert set(processes.registry_replication(cluster)) <= set(registry.command)


@pytest.mark.parametrize("topology_name", ["single", "cluster"])
@pytest.mark.parametrize("moved", [False, True], ids=["default-ports", "env-file-ports"])
def test_no_two_processes_share_a_port_and_moved_stacks_stay_in_their_block(topology_name, moved):
    config = configured(BANK_TOPOLOGY=topology_name, **(MOVED_PORTS if moved else {}))
    ports = [port for p in every_process(config) for port in p.ports.values()]
    assert len(ports) == len(set(ports)), sorted(ports)
    if moved:
        assert all(13000 <= port <= 13999 for port in ports), sorted(ports)
    else:
        added = set(ports) - DEFAULT_PORTS
        assert not added & DEFAULT_PORTS
        assert all(port < 32768 or port > 60999 for port in ports)


def test_a_state_folder_made_for_one_node_is_not_started_as_a_cluster(tmp_path: Path):
    single = configured(BANK_STATE_DIR=str(tmp_path))
    topology.claim_state(single)
    cluster = configured(BANK_STATE_DIR=str(tmp_path), BANK_TOPOLOGY="cluster")
    with pytest.raises(ConfigurationError, match="BANK_STATE_DIR"):
        topology.claim_state(cluster)
    topology.claim_state(single)  # the same topology again is fine


# -- acks=all: every producer of the bank ---------------------------------------------------------

PRODUCING_FOLDERS = ("soi", "soe", "ops", "bench", "stack", "tests", "events", "sor")


def _producer_calls() -> list[tuple[Path, int, str]]:
    found = []
    for folder in PRODUCING_FOLDERS:
        for path in (REPO_ROOT / folder).rglob("*.py"):
            source = path.read_text()
            for node in ast.walk(ast.parse(source)):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in ("Producer", "AIOKafkaProducer")
                ):
                    found.append((path, node.lineno, ast.get_source_segment(source, node) or ""))
    return found


def test_every_python_producer_waits_for_every_in_sync_copy():
    calls = _producer_calls()
    assert len(calls) >= 8, "the scan found the producers"
    careless = [
        f"{path.relative_to(REPO_ROOT)}:{line}"
        for path, line, call in calls
        if "producer_config(" not in call and '"acks": "all"' not in call
    ]
    assert not careless, f"producers without acks=all: {careless}"


def test_the_shared_producer_config_says_acks_all_whatever_it_is_given():
    from kernel.kafka_client import producer_config

    assert producer_config("127.0.0.1:9092", {"acks": "1", "linger.ms": 0})["acks"] == "all"


def test_connects_own_producers_wait_for_every_in_sync_copy():
    assert processes.connect_properties(configured())["producer.acks"] == "all"


def test_a_lone_connect_worker_that_lost_the_broker_gets_its_task_back_at_once():
    # It rejoins as a new member; Connect's default holds the old member's task for 5 minutes.
    assert processes.connect_properties(configured())["scheduled.rebalance.max.delay.ms"] == 0


# -- the cluster stage, `make test-cluster` --------------------------------------------------------


def test_the_cluster_stage_runs_a_cluster_on_ports_of_its_own_within_the_env_files_block():
    from tests.cluster.stage import stage_environment

    moved = configured(**MOVED_PORTS)
    environment = stage_environment(moved)
    assert environment["BANK_TOPOLOGY"] == "cluster"
    assert environment["BANK_STATE_DIR"] != str(moved.state_dir)
    stage = configured(**{k: v for k, v in environment.items() if k.startswith("BANK_")})
    stage_ports = {port for p in every_process(stage) for port in p.ports.values()}
    default_ports = {port for p in every_process(moved) for port in p.ports.values()}
    assert not stage_ports & default_ports
    assert all(13000 <= port <= 13999 for port in stage_ports), sorted(stage_ports)


def test_the_nodes_of_a_cluster_stop_together_and_everything_else_alone():
    from stack.supervisor import Supervisor

    config = configured(BANK_TOPOLOGY="cluster", BANK_STATE_DIR="/nonexistent/state")
    supervisor = Supervisor(config)
    started = [p.name for p in every_process(config)]
    supervisor.executors = dict.fromkeys(started)  # type: ignore[arg-type]
    groups = supervisor._stop_groups()
    assert ["kafka-3", "kafka-2", "kafka"] in groups
    assert all(len(g) == 1 for g in groups if g != ["kafka-3", "kafka-2", "kafka"])
    assert [name for g in groups for name in g] == list(reversed(started))


def test_a_cluster_s_faust_workers_start_like_a_single_stack_s():
    # A worker waiting for its group logs so every 10 s; the supervisor waits past the start
    # timeout while a log grows (test_supervisor.py), so no topology needs a longer one.
    single = {p.name: p for p in every_process(configured())}
    cluster = {p.name: p for p in every_process(configured(BANK_TOPOLOGY="cluster"))}
    assert single["soi"].start_timeout == 120.0
    assert cluster["soi"].start_timeout == cluster["soi-2"].start_timeout == 120.0
