"""The compose file and the images run what the local stack runs (stack/processes.py): the same
commands, variables, readiness checks, ports, configuration and versions."""

import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from kernel.connector import load_connector
from kernel.settings import LOCAL_ONLY_DEFAULTS
from stack import kafka_node, processes
from stack.readiness import KafkaReady
from tests.support.compose_model import (
    CONTAINER_HOST,
    PUBLISH_HOST,
    REPO_ROOT,
    container_command,
    container_processes,
    container_settings,
    default_settings,
    dockerfile_cmd,
    dockerfile_healthcheck,
    environment,
    external_bases,
    is_one_shot,
    pom_property,
    published_ports,
    pyproject,
    read_env_file,
    services,
)

pytestmark = pytest.mark.unit

APPLICATIONS = ("sor", "soi", "soe")
# Local order of start-up (stack/supervisor.py start_all), with the compose one-shots in place of
# the supervisor's own steps.
START_ORDER = [
    "mariadb",
    "kafka",
    "registry",
    "connect",
    "register-connector",
    "sor-setup",
    *APPLICATIONS,
]


@pytest.fixture(scope="module")
def compose() -> dict:
    return services()


@pytest.fixture(scope="module")
def local() -> dict[str, processes.Process]:
    return container_processes()


def _ready_url_in_container(process: processes.Process) -> str:
    """The local readiness URL, asked from inside the container."""
    url = urlsplit(process.ready.url)
    return url._replace(netloc=f"127.0.0.1:{url.port}").geturl()


# -- our three processes ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", APPLICATIONS)
def test_each_of_our_services_runs_the_local_stacks_command(compose, local, name):
    expected = container_command(local[name])
    assert compose[name]["command"] == expected
    assert dockerfile_cmd(name) == expected


@pytest.mark.parametrize("name", [*APPLICATIONS, "connect"])
def test_each_service_is_given_every_variable_its_process_reads(compose, local, name):
    process = local[name]
    given = environment(compose[name])
    missing = (set(process.env_names) | set(process.env)) - set(given)
    assert not missing, f"{name} reads {sorted(missing)}; set them in docker-compose.yml"


def test_the_set_up_is_given_what_django_the_clerk_and_the_seed_data_read(compose):
    given = environment(compose["sor-setup"])
    assert set(processes.DJANGO_ENV_NAMES) <= set(given)
    clerk_and_demo = {name for name in LOCAL_ONLY_DEFAULTS if name.startswith("DJANGO_SUPERUSER")}
    assert clerk_and_demo | {"BANK_DEMO_PASSWORD", "BANK_SEED_CUSTOMERS"} <= set(given)


def test_every_fixed_setting_a_process_gets_locally_it_gets_in_compose_too(compose, local):
    assert (
        environment(compose["sor"])["DJANGO_SETTINGS_MODULE"]
        == local["sor"].env["DJANGO_SETTINGS_MODULE"]
    )


@pytest.mark.parametrize("name", APPLICATIONS)
def test_healthchecks_ask_the_local_readiness_url(compose, local, name):
    url = _ready_url_in_container(local[name])
    assert url in " ".join(compose[name]["healthcheck"]["test"])
    assert url in " ".join(dockerfile_healthcheck(name))


def test_connects_healthcheck_asks_the_local_readiness_url(compose, local):
    assert _ready_url_in_container(local["connect"]) in compose["connect"]["healthcheck"]["test"]


def test_the_registrys_healthcheck_asks_the_local_readiness_url(compose, local):
    assert _ready_url_in_container(local["registry"]) in compose["registry"]["healthcheck"]["test"]


def test_kafkas_healthcheck_asks_for_metadata_as_the_local_readiness_check_does(compose, local):
    assert isinstance(local["kafka"].ready, KafkaReady)
    assert "kafka-broker-api-versions.sh" in " ".join(compose["kafka"]["healthcheck"]["test"])


# -- ports -----------------------------------------------------------------------------------------


def test_published_ports_are_the_local_stacks_on_loopback(compose, local):
    expected = {
        port
        for process in local.values()
        for name, port in process.ports.items()
        if (process.name, name) != ("kafka", "controller")  # the broker's own, never a client's
    }
    published = {}
    for name, service in compose.items():
        for port in published_ports(service):
            assert port["host_ip"] == PUBLISH_HOST, f"{name} publishes beyond loopback"
            assert port["published"] == port["target"], f"{name}: host and container ports differ"
            published[port["target"]] = name
    assert set(published) == expected
    for process in local.values():
        for port_name, port in process.ports.items():
            if port in published:
                assert published[port] == process.name, f"{process.name}'s {port_name} port"


def test_port_variables_move_the_published_port_only():
    text = (REPO_ROOT / "docker-compose.yml").read_text()
    config = default_settings()
    for variable, port in {
        "BANK_DB_PORT": config.db_port,
        "BANK_KAFKA_PORT": config.kafka_port,
        "BANK_CONNECT_PORT": config.connect_port,
        "BANK_REGISTRY_PORT": config.registry_port,
        "BANK_REGISTRY_HEALTH_PORT": config.registry_health_port,
        "BANK_SOR_PORT": config.sor_port,
        "BANK_SOE_PORT": config.soe_port,
        "BANK_SOI_WEB_PORT": config.soi_web_port,
    }.items():
        assert f"published: ${{{variable}:-{port}}}" in text, variable


# -- start-up order and health ---------------------------------------------------------------------


def test_every_long_running_service_has_a_healthcheck_and_one_shots_have_none(compose):
    for name, service in compose.items():
        if is_one_shot(service):
            assert service["healthcheck"] == {"disable": True}, name
        else:
            assert service["healthcheck"]["test"], name
            assert service["restart"] == "unless-stopped", name


def test_every_dependency_waits_until_healthy_or_done(compose):
    for name, service in compose.items():
        for dependency, how in service.get("depends_on", {}).items():
            expected = (
                "service_completed_successfully"
                if is_one_shot(compose[dependency])
                else "service_healthy"
            )
            assert how["condition"] == expected, f"{name} on {dependency}"


def _needs(compose: dict, name: str) -> set[str]:
    direct = set(compose[name].get("depends_on", {}))
    return direct.union(*(_needs(compose, d) for d in direct)) if direct else set()


def test_services_start_in_the_local_stacks_order(compose):
    assert set(compose) == set(START_ORDER)
    for name in START_ORDER:
        later = set(START_ORDER[START_ORDER.index(name) :])
        assert not _needs(compose, name) & later, f"{name} waits for something started after it"
    assert {"mariadb", "connect"} <= _needs(compose, "register-connector")
    for name in APPLICATIONS:
        assert {"sor-setup", "register-connector"} <= _needs(compose, name), name


def test_the_set_up_runs_the_local_supervisors_steps_in_order():
    supervisor = (REPO_ROOT / "stack" / "supervisor.py").read_text()
    start_all = supervisor[supervisor.index("def start_all") : supervisor.index("def watch")]
    local_steps = re.findall(r'_manage\(\s*"(\w+)"|"(populate-db\.sh)"', start_all)
    setup = (REPO_ROOT / "compose" / "sor-setup.sh").read_text()
    compose_steps = re.findall(r"^manage (\w+)|^\./(populate-db\.sh)", setup, re.MULTILINE)
    assert [a or b for a, b in compose_steps] == [a or b for a, b in local_steps]
    assert len(local_steps) >= 5


# -- the infrastructure's configuration ------------------------------------------------------------


def _kafka_variable(key: str) -> str:
    """How the apache/kafka image names a server property in its environment."""
    return "KAFKA_" + key.replace("_", "__").replace("-", "___").replace(".", "_").upper()


def _listeners(value: str) -> dict[str, tuple[str, int]]:
    parsed = {}
    for listener in value.split(","):
        name, _, address = listener.partition("://")
        host, _, port = address.rpartition(":")
        parsed[name] = (host, int(port))
    return parsed


def test_kafka_runs_with_the_local_brokers_properties(compose):
    config = default_settings()
    local = kafka_node.kafka_properties(config)
    given = environment(compose["kafka"])
    per_container = {
        "controller.quorum.voters",
        "listeners",
        "advertised.listeners",
        "listener.security.protocol.map",
        "log.dirs",
    }
    for key, value in local.items():
        if key not in per_container:
            assert given[_kafka_variable(key)] == str(value), key

    listeners = _listeners(given["KAFKA_LISTENERS"])
    advertised = _listeners(given["KAFKA_ADVERTISED_LISTENERS"])
    internal = advertised[local["inter.broker.listener.name"]]
    assert listeners["EXTERNAL"] == (CONTAINER_HOST, config.kafka_port)
    assert listeners["CONTROLLER"] == (CONTAINER_HOST, config.kafka_controller_port)
    # The host's tools reach the broker where they do locally.
    assert advertised["EXTERNAL"] == (config.host, config.kafka_port)
    assert f"{config.host}:{config.kafka_port}" == config.kafka_bootstrap
    assert internal == ("kafka", listeners[local["inter.broker.listener.name"]][1])
    voter_id, _, voter = given["KAFKA_CONTROLLER_QUORUM_VOTERS"].partition("@")
    assert voter_id == str(local["node.id"])
    assert voter == f"kafka:{config.kafka_controller_port}"
    assert set(local["listener.security.protocol.map"].split(",")) <= set(
        given["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    assert given["KAFKA_LOG_DIRS"] in {
        volume.split(":")[1] for volume in compose["kafka"]["volumes"]
    }
    assert given["KAFKA_HEAP_OPTS"] == f"-Xms{config.kafka_heap} -Xmx{config.kafka_heap}"


def test_every_container_reaches_kafka_on_its_internal_listener(compose):
    internal = _listeners(environment(compose["kafka"])["KAFKA_ADVERTISED_LISTENERS"])["PLAINTEXT"]
    bootstrap = f"{internal[0]}:{internal[1]}"
    assert environment(compose["connect"])["BOOTSTRAP_SERVERS"] == bootstrap
    for name in ("connect", "soi", "soe"):
        assert environment(compose[name])["BANK_KAFKA_BOOTSTRAP"] == bootstrap, name


# Debezium's entrypoint sets these properties from short variable names (and overwrites any
# CONNECT_ variable for them); every other property is CONNECT_<PROPERTY>.
DEBEZIUM_SHORT_NAMES = {
    "bootstrap.servers": "BOOTSTRAP_SERVERS",
    "group.id": "GROUP_ID",
    "config.storage.topic": "CONFIG_STORAGE_TOPIC",
    "offset.storage.topic": "OFFSET_STORAGE_TOPIC",
    "status.storage.topic": "STATUS_STORAGE_TOPIC",
    "key.converter": "KEY_CONVERTER",
    "value.converter": "VALUE_CONVERTER",
    "offset.flush.interval.ms": "OFFSET_FLUSH_INTERVAL_MS",
    "rest.advertised.host.name": "ADVERTISED_HOST_NAME",
    "rest.advertised.port": "ADVERTISED_PORT",
}


def _connect_variable(key: str) -> str:
    return DEBEZIUM_SHORT_NAMES.get(key) or "CONNECT_" + key.replace(".", "_").upper()


def test_connect_runs_with_the_local_workers_properties(compose, local):
    config = default_settings()
    properties = processes.connect_properties(container_settings())
    given = environment(compose["connect"])
    per_container = {"bootstrap.servers", "rest.advertised.host.name", "plugin.path"}
    for key, value in properties.items():
        if key not in per_container:
            assert given.get(_connect_variable(key)) == str(value), key
    for key in DEBEZIUM_SHORT_NAMES:
        assert "CONNECT_" + key.replace(".", "_").upper() not in given, key
    assert given["ADVERTISED_HOST_NAME"] == "connect"
    # The image's own plugin path holds Debezium's connectors.
    assert "CONNECT_PLUGIN_PATH" not in given
    assert given["HEAP_OPTS"] == f"-Xms{config.connect_heap} -Xmx{config.connect_heap}"


def test_the_registry_runs_with_the_local_registrys_settings(compose, local):
    given = environment(compose["registry"])
    expected = dict(local["registry"].env, APICURIO_KAFKASQL_BOOTSTRAP_SERVERS="kafka:19092")
    assert {key: given.get(key) for key in expected} == expected
    heap = container_settings().registry_heap
    java_options = given["JAVA_OPTS_APPEND"].split()
    assert java_options == [f"-Xms{heap}", f"-Xmx{heap}", *processes.REGISTRY_JVM_PROPERTIES]


def test_readers_and_writers_of_avro_find_the_registry_service(compose):
    port = default_settings().registry_port
    for name in ("soi", "soe"):
        url = environment(compose[name])["BANK_SCHEMA_REGISTRY_URL"]
        assert url == f"http://registry:{port}/apis/ccompat/v7", name
        assert "registry" in _needs(compose, name), name


def test_connect_gives_the_connector_every_variable_it_reads(compose):
    _name, config = load_connector()
    read = {name for value in config.values() for name in re.findall(r"\$\{env:(\w+)\}", value)}
    given = environment(compose["connect"])
    assert read <= set(given)
    assert given["BANK_DB_HOST"] == "mariadb"
    assert given["BANK_DB_PORT"] == str(default_settings().db_port)


def test_the_connector_is_registered_against_the_connect_service(compose):
    given = environment(compose["register-connector"])
    assert given["BANK_HOST"] == "connect"
    assert given["BANK_CONNECT_PORT"] == str(default_settings().connect_port)


def test_mariadb_runs_with_the_local_servers_flags(compose, local):
    machine_specific = {
        "--no-defaults",
        "--user",
        "--datadir",
        "--socket",
        "--pid-file",
        "--bind-address",
        "--port",
    }

    def flags(command: list[str]) -> dict[str, str]:
        parsed = dict(argument.partition("=")[::2] for argument in command[1:])
        return {name: value for name, value in parsed.items() if name not in machine_specific}

    expected = flags(local["mariadb"].command)
    given = flags(compose["mariadb"]["command"])
    assert given.keys() == expected.keys()
    for name, value in expected.items():
        if name == "--log-bin":  # a path locally, beside the data in the container
            assert given[name] == Path(value).name
        else:
            assert given[name] == value, name


def test_mariadb_has_the_database_and_users_the_local_stack_makes(compose):
    config = default_settings()
    given = environment(compose["mariadb"])
    assert given["MARIADB_DATABASE"] == config.db_name
    assert given["MARIADB_USER"] == config.db_user
    django = environment(compose["sor"])
    assert (django["BANK_DB_NAME"], django["BANK_DB_USER"]) == (config.db_name, config.db_user)
    assert django["BANK_DB_HOST"] == "mariadb"
    assert django["BANK_DB_PORT"] == str(config.db_port)

    local_grants = re.search(
        r'"GRANT (SELECT, RELOAD.*?) "\s*f"(BINLOG MONITOR) ON',
        (REPO_ROOT / "stack" / "database.py").read_text(),
    )
    assert local_grants, "stack/database.py no longer grants Debezium's user as expected"
    init = (REPO_ROOT / "compose" / "mariadb-init" / "10-debezium-user.sh").read_text()
    assert f"GRANT {local_grants[1]} {local_grants[2]} ON *.* TO 'debezium'@'%'" in init


# -- secrets and defaults --------------------------------------------------------------------------


def test_secrets_have_no_default_in_the_compose_file():
    text = (REPO_ROOT / "docker-compose.yml").read_text()
    for name in LOCAL_ONLY_DEFAULTS:
        uses = re.findall(rf"\$\{{{name}(\W.*?)?\}}", text)
        assert uses, f"{name} is not used"
        for use in uses:
            assert use.startswith(":?"), f"{name} must be required (${{{name}:?...}})"


def test_env_example_holds_the_local_stacks_local_only_values():
    example = read_env_file()
    for name, value in LOCAL_ONLY_DEFAULTS.items():
        assert example[name] == value, name
    assert example["BANK_ENV"] == "local"


def test_the_dashboard_and_its_tokens_are_reached_where_the_browser_finds_them(compose):
    config = default_settings()
    gateway = environment(compose["soe"])
    assert gateway["BANK_SOR_PUBLIC_URL"] == config.sor_url
    origins = f"{config.soe_url},http://localhost:{config.soe_port}"
    assert gateway["BANK_DASHBOARD_ORIGINS"] == origins
    assert environment(compose["sor"])["BANK_DASHBOARD_ORIGINS"] == origins


# -- versions --------------------------------------------------------------------------------------


def test_the_registry_image_is_the_version_of_its_pom(compose):
    apicurio = pom_property(REPO_ROOT / "registry" / "pom.xml", "version.apicurio")
    assert compose["registry"]["image"] == f"apicurio/apicurio-registry:{apicurio}"


def test_images_are_the_kafka_and_debezium_versions_of_the_poms(compose):
    kafka = pom_property(REPO_ROOT / "connect" / "kafka" / "pom.xml", "version.kafka")
    debezium = pom_property(REPO_ROOT / "connect" / "debezium" / "pom.xml", "version.debezium")
    assert compose["kafka"]["image"] == f"apache/kafka:{kafka}"
    assert compose["connect"]["image"] == f"quay.io/debezium/connect:{debezium}"


def test_mariadb_is_the_major_version_the_local_stack_runs(compose):
    image, _, tag = compose["mariadb"]["image"].partition(":")
    assert image == "mariadb"
    assert re.fullmatch(r"\d+\.\d+", tag), "pin MariaDB's major.minor"
    mariadbd = shutil.which("mariadbd") or shutil.which("mariadbd", path="/usr/sbin")
    assert mariadbd, "mariadbd is not installed: `make up` (which `make test` runs) installs it"
    version = subprocess.run([mariadbd, "--version"], capture_output=True, text=True, check=True)
    local = re.search(r"Ver (\d+\.\d+)\.", version.stdout)
    assert local and local[1] == tag, version.stdout


def test_python_images_are_the_python_the_project_requires():
    requires = pyproject()["project"]["requires-python"]
    major_minor = re.search(r">=(\d+\.\d+)", requires)[1]
    bases = external_bases()
    assert bases
    for base in bases:
        assert re.match(rf"python:{re.escape(major_minor)}-slim\b", base), base


def test_the_docker_guide_names_every_service_and_image(compose):
    section = (REPO_ROOT / "docs" / "docker.md").read_text()
    for name, service in compose.items():
        assert f"`{name}`" in section, name
        if "build" not in service:
            assert f"`{service['image']}`" in section, service["image"]
