"""Real validators over the Docker distribution, none of which needs a Docker engine: the Compose
Specification's JSON schema, the Compose Specification's own Go loader (what `docker compose
config` runs), hadolint for the Dockerfiles and bash's parser for the shell scripts."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from kernel.settings import LOCAL_ONLY_DEFAULTS
from tests.support.compose_loader import installed_tool
from tests.support.compose_model import (
    COMPOSE_FILE,
    DOCKERFILE,
    ENV_EXAMPLE,
    REPO_ROOT,
    TARGETS,
    compose_model,
    copied_stages,
    copy_sources,
    environment,
    image_instructions,
    sent_to_docker,
    stages,
)
from tests.support.source_tree import project_files

pytestmark = pytest.mark.unit


def _load(config_check: Path, *env_files: Path) -> subprocess.CompletedProcess[str]:
    arguments = [str(config_check), "-f", str(COMPOSE_FILE)]
    for env_file in env_files:
        arguments += ["-env-file", str(env_file)]
    return subprocess.run(arguments, capture_output=True, text=True, timeout=60, check=False)


# -- the compose file ------------------------------------------------------------------------------


def test_the_compose_file_is_valid_against_the_compose_specifications_schema():
    result = subprocess.run(
        [
            installed_tool("check-jsonschema"),
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE_FILE),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compose_loader_accepts_the_file_with_the_example_environment(config_check):
    result = _load(config_check, ENV_EXAMPLE)
    assert result.returncode == 0, result.stderr
    project = json.loads(result.stdout)
    assert project["name"] == "live-bank"
    ours = compose_model()["services"]
    assert set(project["services"]) == set(ours)
    # What these tests read from the file is what Compose reads from it.
    for name, service in project["services"].items():
        assert service.get("command") == ours[name].get("command"), name
        assert (service.get("environment") or {}) == environment(ours[name]), name
        published = {(int(p["target"]), int(p["published"])) for p in service.get("ports", [])}
        assert published == {
            (int(p["target"]), int(p["published"])) for p in ours[name].get("ports", [])
        }


def test_the_compose_loader_names_every_missing_secret(config_check, tmp_path):
    no_secrets = tmp_path / "empty.env"
    no_secrets.write_text("")
    result = _load(config_check, no_secrets)
    assert result.returncode != 0
    for name in LOCAL_ONLY_DEFAULTS:
        assert f"required variable {name} is missing a value" in result.stderr, name
    assert "cp .env.example .env" in result.stderr


def test_a_changed_port_moves_every_address_that_names_it(config_check, tmp_path):
    moved = tmp_path / "moved.env"
    moved.write_text(ENV_EXAMPLE.read_text() + "BANK_SOR_PORT=18000\nBANK_SOE_PORT=18001\n")
    result = _load(config_check, moved)
    assert result.returncode == 0, result.stderr
    gateway = json.loads(result.stdout)["services"]["soe"]
    assert gateway["environment"]["BANK_SOR_PUBLIC_URL"] == "http://127.0.0.1:18000"
    assert "http://127.0.0.1:18001" in gateway["environment"]["BANK_DASHBOARD_ORIGINS"]
    assert [(p["target"], p["published"]) for p in gateway["ports"]] == [(8001, "18001")]


# -- the images ------------------------------------------------------------------------------------


def test_the_dockerfile_passes_hadolint():
    result = subprocess.run(
        [installed_tool("hadolint"), str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_service_has_its_target_and_no_other_dockerfile_is_left():
    assert set(TARGETS) <= set(stages())
    assert sorted(p.relative_to(REPO_ROOT).as_posix() for p in _dockerfiles()) == ["Dockerfile"]


def _dockerfiles() -> list[Path]:
    return [
        REPO_ROOT / path
        for path in project_files("*Dockerfile*")
        if "node_modules" not in path.parts
    ]


@pytest.mark.parametrize("name", TARGETS)
def test_each_image_runs_as_a_non_root_user(name):
    users = [i.arguments for i in image_instructions(name) if i.keyword == "USER"]
    assert users, f"{name} runs as root"
    assert users[-1].split(":")[0] not in {"0", "root"}


@pytest.mark.parametrize("name", TARGETS)
def test_each_image_installs_the_pinned_requirements_of_its_own_extra(name):
    (packages,) = copied_stages(name)
    runs = " ".join(i.arguments for i in image_instructions(packages) if i.keyword == "RUN")
    assert f"image_requirements.py /build/pyproject.toml {name} >" in runs
    assert "pip install --requirement" in runs
    # pip's cache is a build cache mount, never a layer of the image.
    assert "--mount=type=cache,target=/root/.cache/pip" in runs
    assert {"pyproject.toml", "compose/image_requirements.py"} <= set(copy_sources())


@pytest.mark.parametrize("name", TARGETS)
def test_build_tools_stay_in_the_builder_stage(name):
    final = " ".join(i.arguments for i in image_instructions(name))
    for tool in ("build-essential", "libmariadb-dev", "pkg-config"):
        assert tool not in final, f"{name}'s image keeps {tool}"


def test_the_build_context_holds_everything_the_images_copy():
    for source in copy_sources():
        assert sent_to_docker(source), f"{source} is left out by .dockerignore"


def test_the_build_context_leaves_out_state_secrets_and_history():
    for path in (".bank/keys/live-token-ed25519.pem", ".env", ".venv/bin/python", ".git/config"):
        assert not sent_to_docker(path), path
    for path in ("tests/unit/compose/compose_model.py", "sor/__pycache__/settings.cpython-311.pyc"):
        assert not sent_to_docker(path), path
    assert sent_to_docker("sor/settings.py")


def test_every_image_the_compose_file_builds_is_a_target_of_the_dockerfile():
    built = {}
    for name, service in compose_model()["services"].items():
        if "build" in service:
            build = service["build"]
            dockerfile = REPO_ROOT / build["context"] / build.get("dockerfile", "Dockerfile")
            assert dockerfile == DOCKERFILE, name
            built[service["image"]] = build["target"]
    assert set(built.values()) == set(TARGETS) - {"ops"}
    assert all(image == f"live-bank-{target}" for image, target in built.items())


# -- the scripts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "script",
    [
        "compose/sor-setup.sh",
        "compose/podman-smoke.sh",
        "compose/mariadb-init/10-debezium-user.sh",
    ],
)
def test_the_shell_scripts_parse(script):
    result = subprocess.run(["bash", "-n", str(REPO_ROOT / script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_mariadb_init_script_is_sourced_so_it_has_the_images_helpers():
    # The image's entrypoint runs an executable *.sh on its own, without docker_process_sql.
    init = REPO_ROOT / "compose" / "mariadb-init" / "10-debezium-user.sh"
    assert not os.access(init, os.X_OK)
