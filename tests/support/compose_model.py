"""The Docker Compose distribution as its tests read it, beside the local stack's definitions.

The compose file is read as Compose reads it: YAML anchors and merges resolved, then `${NAME}`,
`${NAME:-default}` and `${NAME:?message}` interpolated from an env file (.env.example unless
told otherwise). The local stack's processes are built with the settings' defaults, whatever
the test run's environment holds, and with the host a container listens on.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock
from xml.etree import ElementTree

import yaml

from kernel.settings import Settings, settings
from stack import processes

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
CONFIG_CHECK = REPO_ROOT / "compose" / "config-check"
DOCKERFILE = REPO_ROOT / "Dockerfile"
# The Dockerfile's targets: each of our services, as docker-compose.yml builds them, and the ops
# CLI's image (run by hand, not by compose).
TARGETS = ("sor", "soi", "soe", "ops")
CONTAINER_HOST = "0.0.0.0"
PUBLISH_HOST = "127.0.0.1"

# `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?message}`, innermost first.
_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^${}]*))?\}")


class MissingVariable(LookupError):
    pass


def read_env_file(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def interpolate(text: str, env: dict[str, str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        value = env.get(name)
        empty = value is None or (value == "" and op is not None and op.startswith(":"))
        if op is None or not empty:
            return value or ""
        if op.endswith("?"):
            raise MissingVariable(f"{name}: {arg}")
        return arg

    while _VARIABLE.search(text):
        text = _VARIABLE.sub(substitute, text)
    return text


def _resolve(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [_resolve(item, env) for item in node]
    if isinstance(node, dict):
        return {key: _resolve(value, env) for key, value in node.items()}
    return node


def compose_model(env: dict[str, str] | None = None) -> dict[str, Any]:
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    return _resolve(raw, read_env_file() if env is None else env)


def services() -> dict[str, dict[str, Any]]:
    return compose_model()["services"]


def environment(service: dict[str, Any]) -> dict[str, str]:
    declared = service.get("environment") or {}
    if isinstance(declared, list):
        return dict(item.partition("=")[::2] for item in declared)
    return {name: "" if value is None else str(value) for name, value in declared.items()}


def published_ports(service: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {**port, "target": int(port["target"]), "published": int(port["published"])}
        for port in service.get("ports", [])
    ]


def is_one_shot(service: dict[str, Any]) -> bool:
    return service.get("restart") == "no"


# -- the local stack ------------------------------------------------------------------------------


def default_settings() -> Settings:
    """The settings' defaults: no BANK_* variable of the test run's environment leaks in."""
    clean = {name: value for name, value in os.environ.items() if not name.startswith("BANK_")}
    with mock.patch.dict(os.environ, clean, clear=True):
        return settings.__wrapped__()


def local_processes(config: Settings | None = None) -> dict[str, processes.Process]:
    config = config or default_settings()
    clean = {name: value for name, value in os.environ.items() if not name.startswith("BANK_")}
    with mock.patch.dict(os.environ, clean, clear=True):
        defined = processes.infrastructure(config) + processes.applications(config)
    return {process.name: process for process in defined}


def container_settings() -> Settings:
    """The defaults, but listening on every interface, as in a container."""
    return default_settings().changed(host=CONTAINER_HOST)


def container_processes() -> dict[str, processes.Process]:
    return local_processes(container_settings())


def container_command(process: processes.Process) -> list[str]:
    """The local command with the image's `python` for the virtualenv's interpreter."""
    interpreter, *arguments = process.command
    assert Path(interpreter).name.startswith("python"), process.command
    return ["python", *arguments]


# -- versions -------------------------------------------------------------------------------------


def pom_property(pom: Path, name: str) -> str:
    namespace = {"m": "http://maven.apache.org/POM/4.0.0"}
    element = ElementTree.parse(pom).getroot().find(f"m:properties/m:{name}", namespace)
    assert element is not None and element.text, f"{pom} has no <{name}>"
    return element.text.strip()


def pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())


# -- Dockerfiles ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str
    stage: int


def dockerfile_instructions(path: Path = DOCKERFILE) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped; stage counts FROMs."""
    instructions: list[Instruction] = []
    pending = ""
    stage = -1
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        pending += " " + stripped.removesuffix("\\").strip()
        if stripped.endswith("\\"):
            continue
        keyword, _, arguments = pending.strip().partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        instructions.append(Instruction(keyword, arguments.strip(), stage))
        pending = ""
    return instructions


@dataclass(frozen=True)
class Stage:
    name: str
    base: str
    instructions: list[Instruction]


def stages(path: Path = DOCKERFILE) -> dict[str, Stage]:
    """Each stage by name (`FROM <base> AS <name>`), in the file's order."""
    found: dict[str, Stage] = {}
    instructions = dockerfile_instructions(path)
    for start in (i for i in instructions if i.keyword == "FROM"):
        base, _, name = start.arguments.partition(" AS ")
        assert name, f"name every stage: FROM {start.arguments}"
        own = [i for i in instructions if i.stage == start.stage and i.keyword != "FROM"]
        found[name.strip()] = Stage(name.strip(), base.strip(), own)
    return found


def external_bases(path: Path = DOCKERFILE) -> list[str]:
    """The images the stages start FROM that are not stages of the file."""
    all_stages = stages(path)
    return [stage.base for stage in all_stages.values() if stage.base not in all_stages]


def image_instructions(target: str, path: Path = DOCKERFILE) -> list[Instruction]:
    """What builds the target's image: its stage and the stages it starts FROM, base first.
    (Stages it only copies files from are not in it.)"""
    all_stages = stages(path)
    chain: list[Instruction] = []
    name = target
    while name in all_stages:
        chain = all_stages[name].instructions + chain
        name = all_stages[name].base
    assert chain, f"the Dockerfile has no target {target!r}"
    return chain


def exec_form(arguments: str) -> list[str]:
    return json.loads(arguments)


def dockerfile_cmd(target: str) -> list[str]:
    cmd = [i for i in image_instructions(target) if i.keyword == "CMD"][-1]
    return exec_form(cmd.arguments)


def dockerfile_healthcheck(target: str) -> list[str]:
    check = [i for i in image_instructions(target) if i.keyword == "HEALTHCHECK"][-1]
    _options, _, command = check.arguments.partition(" CMD ")
    return exec_form(command)


def copied_stages(target: str) -> list[str]:
    """The stages the target's image copies files from (COPY --from=<stage>)."""
    copies = [i.arguments for i in image_instructions(target) if i.keyword == "COPY"]
    return [m[1] for m in (re.search(r"--from=(\S+)", c) for c in copies) if m]


def copy_sources(path: Path = DOCKERFILE) -> list[str]:
    """What each COPY takes from the build context (not from another stage)."""
    sources = []
    for instruction in dockerfile_instructions(path):
        if instruction.keyword != "COPY" or "--from=" in instruction.arguments:
            continue
        words = [w for w in shlex.split(instruction.arguments) if not w.startswith("--")]
        sources += words[:-1]
    return sources


def image_copies(target: str) -> list[str]:
    """What the target's image takes from the build context, beside its packages."""
    sources = []
    for instruction in image_instructions(target):
        if instruction.keyword == "COPY" and "--from=" not in instruction.arguments:
            sources += shlex.split(instruction.arguments)[:-1]
    return sources


# -- .dockerignore --------------------------------------------------------------------------------


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """Docker's .dockerignore patterns: Go's filepath.Match, plus ** for any number of folders."""
    parts = []
    index = 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            parts.append("(?:.*/)?")
            index += 3
        elif pattern.startswith("**", index):
            parts.append(".*")
            index += 2
        elif pattern[index] == "*":
            parts.append("[^/]*")
            index += 1
        elif pattern[index] == "?":
            parts.append("[^/]")
            index += 1
        else:
            parts.append(re.escape(pattern[index]))
            index += 1
    return re.compile("".join(parts))


def dockerignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for line in DOCKERIGNORE.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        pattern = line.removeprefix("!").strip().strip("/")
        rules.append((keep, _pattern_regex(pattern)))
    return rules


def sent_to_docker(path: str) -> bool:
    """Whether the build context includes a file: the last rule matching it, or a folder of it,
    decides."""
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    included = True
    for keep, regex in dockerignore_rules():
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            included = keep
    return included
