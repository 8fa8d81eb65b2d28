"""Each image holds its own service's packages alone, and everything its service imports.

What a service's image installs is pyproject.toml's dependencies and the service's extra
(compose/image_requirements.py, run by the Dockerfile), with everything those require in turn (the
installed packages' own metadata). What the service imports is read from its code: every import,
followed through our own packages, from the modules its image runs. Both must agree: an import of
a package outside the extra fails here before it fails in a container; and a framework of another
service in the extra (Django in the gateway's, FastAPI in the worker's) fails here too.
compose/podman-smoke.sh checks the same in the built images."""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from compose.image_requirements import requirements
from tests.support.compose_model import REPO_ROOT, TARGETS, dockerfile_cmd, image_copies

pytestmark = pytest.mark.unit

# Where each image's code starts, beside its command: what Django loads by name (every module of
# the system of record: apps, commands, migrations) and the one-shots that run in its image.
ENTRY_FILES = {
    "sor": ["sor/**/*.py", "compose/register_connector.py"],
    "soi": [],
    "soe": [],
    "ops": [],
}
# Modules loaded by name from inside another package, which no import statement shows:
# Django's MariaDB backend loads the driver.
LOADED_BY_NAME = {"sor": {"MySQLdb"}, "soi": set(), "soe": set(), "ops": set()}
# Another service's framework has no place in an image.
NEVER_IN = {
    "sor": {"fastapi", "starlette", "uvicorn", "faust-streaming"},
    "soi": {"fastapi", "starlette", "uvicorn", "django"},
    "soe": {"django", "djangorestframework", "faust-streaming", "mysqlclient"},
    "ops": {"django", "fastapi", "faust-streaming"},
}


LOADABLE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+(:[A-Za-z_]\w*)?")


@cache
def first_party() -> frozenset[str]:
    return frozenset(p.parent.name for p in REPO_ROOT.glob("*/__init__.py"))


def module_file(name: str) -> Path | None:
    path = REPO_ROOT.joinpath(*name.split("."))
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(path: Path) -> set[str]:
    """Every module an import statement names (in functions too), relative ones made absolute."""
    package = module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            names.add(module)
            names |= {f"{module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            # A module of ours named in a string is loaded by name ("soe.app:app" for uvicorn).
            name = node.value.partition(":")[0]
            ours = name.split(".")[0] in first_party()
            if LOADABLE.fullmatch(node.value) and ours and module_file(name):
                names.add(name)
    return names


def dotted_names_in_settings() -> set[str]:
    """The dotted module paths Django's settings name (apps, middleware, backends)."""
    tree = ast.parse((REPO_ROOT / "sor" / "settings.py").read_text())
    dotted = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        if dotted.fullmatch(node.value)
    }


def command_modules(target: str) -> list[str]:
    """What the image's command runs: `python -m <module>` (a package's __main__), and the
    modules of ours its arguments name (`-A soi.app`, `sor.wsgi:application`)."""
    command = dockerfile_cmd(target)
    assert command[:2] == ["python", "-m"], command
    modules = [command[2]]
    if module_file(command[2]) and module_file(command[2]).name == "__init__.py":
        modules.append(f"{command[2]}.__main__")
    for argument in command[3:]:
        name = argument.partition(":")[0]
        if name.split(".")[0] in first_party() and module_file(name):
            modules.append(name)
    return modules


def service_imports(target: str) -> tuple[set[str], set[str]]:
    """(our files, other top-level modules) the target's code reaches."""
    roots = [*command_modules(target), *LOADED_BY_NAME[target]]
    files = [p for pattern in ENTRY_FILES[target] for p in REPO_ROOT.glob(pattern)]
    if target == "sor":
        roots += dotted_names_in_settings()
    ours: set[str] = set()
    others: set[str] = set()
    seen: set[Path] = set()
    pending: list[Path | str] = [*files, *roots]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            top = item.split(".")[0]
            if top not in first_party():
                others.add(top)
                continue
            parts = item.split(".")
            # The module itself, or the package whose attribute it names, and its parents.
            for end in range(1, len(parts) + 1):
                found = module_file(".".join(parts[:end]))
                if found and found not in seen:
                    pending.append(found)
            continue
        if item in seen:
            continue
        seen.add(item)
        ours.add(item.relative_to(REPO_ROOT).as_posix())
        pending += imported_names(item)
    return ours, others


@cache
def providers() -> dict[str, list[str]]:
    return metadata.packages_distributions()


def distributions_of(modules: set[str]) -> dict[str, str]:
    """Top-level module -> the installed distribution providing it (standard library left out)."""
    found = {}
    for module in sorted(modules):
        if module in sys.stdlib_module_names or module == "__future__":
            continue
        # Settings strings that are no module at all ("utf8mb4", "default") are not imports.
        if module not in providers():
            assert importlib.util.find_spec(module) is None, f"which package provides {module}?"
            continue
        found[module] = canonicalize_name(providers()[module][0])
    return found


def installed_closure(target: str) -> set[str]:
    """The distributions the image's pip install brings: its requirements, and theirs in turn
    (with the extras asked for), as the installed packages' metadata states them."""
    wanted = [Requirement(r) for r in requirements(REPO_ROOT / "pyproject.toml", target)]
    closure: set[str] = set()
    done: set[tuple[str, str]] = set()
    while wanted:
        requirement = wanted.pop()
        name = canonicalize_name(requirement.name)
        for extra in ["", *sorted(requirement.extras)]:
            if (name, extra) in done:
                continue
            done.add((name, extra))
            closure.add(name)
            try:
                declared = metadata.requires(name) or []
            except metadata.PackageNotFoundError:
                continue  # not for this platform or Python: pip leaves it out here too
            for raw in declared:
                nested = Requirement(raw)
                if nested.marker is None or nested.marker.evaluate({"extra": extra}):
                    if extra and nested.marker is None:
                        continue  # the distribution's own requirements come with extra ""
                    wanted.append(nested)
    return closure


@pytest.mark.parametrize("target", TARGETS)
def test_each_service_imports_nothing_outside_its_images_packages(target):
    _ours, others = service_imports(target)
    missing = {
        module: distribution
        for module, distribution in distributions_of(others).items()
        if distribution not in installed_closure(target)
    }
    assert not missing, (
        f"{target} imports {missing}, which its image does not install: add them to the "
        f"`{target}` extra in pyproject.toml"
    )


@pytest.mark.parametrize("target", TARGETS)
def test_each_image_holds_no_other_services_framework(target):
    assert not NEVER_IN[target] & installed_closure(target)


@pytest.mark.parametrize("target", TARGETS)
def test_each_image_copies_every_module_of_ours_its_service_imports(target):
    ours, _others = service_imports(target)
    assert not {path.split("/")[0] for path in ours} & {"tests", "bench"}, sorted(ours)
    copied = image_copies(target)
    missing = [
        path
        for path in sorted(ours)
        if not any(path == source or path.startswith(source.rstrip("/") + "/") for source in copied)
    ]
    assert not missing, f"{target} imports {missing}; COPY them in its target"


def test_the_check_sees_what_a_service_imports():
    # The gateway's framework and the worker's, found through their own code.
    assert "fastapi" in service_imports("soe")[1]
    assert "faust" in service_imports("soi")[1]
    assert {"django", "rest_framework", "gunicorn", "MySQLdb"} <= service_imports("sor")[1]
    assert {"events/codec.py", "soe/app.py"} <= service_imports("soe")[0]
    assert "sor/bank/ledger_check.py" in service_imports("ops")[0]


def test_the_local_virtualenv_installs_every_services_packages():
    everything = installed_closure("dev")
    for target in TARGETS:
        assert installed_closure(target) <= everything, target
