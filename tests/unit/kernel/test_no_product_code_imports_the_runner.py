"""The components read their configuration from `kernel`, not from the local runner: an image
of the gateway or the worker carries no `stack/`, and changing the runner breaks no product."""

from __future__ import annotations

import pytest

from kernel.settings import REPO_ROOT
from tests.support.source_tree import imported_modules, imports_in

pytestmark = pytest.mark.unit

PRODUCT = ("sor", "soi", "soe", "ops", "events", "kernel", "bench")
# The benchmarks drive the local stack itself: they read the runner's status file, kill and
# restart its processes and start a scratch worker the way it starts one. Nothing else.
RUNNER_CONTROL = {
    ("bench/footprint.py", "stack.status"),
    ("bench/chaos/faults.py", "stack.supervisor"),
    ("bench/replay.py", "stack.processes"),
    ("bench/chaos/stack_control.py", "stack.status"),
    ("bench/chaos/stack_control.py", "stack.pids"),
    # The cluster's drills: which process is node n or Connect worker n, and their state.
    ("bench/chaos/cluster.py", "stack.status"),
    ("bench/chaos/cluster.py", "stack.processes"),
    ("bench/chaos/cluster.py", "stack.kafka_node"),
    ("bench/chaos/cluster_faults.py", "stack.supervisor"),
}


def runner_imports() -> set[tuple[str, str]]:
    found = set()
    for package in PRODUCT:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            relative = path.relative_to(REPO_ROOT)
            modules = {
                ".".join(name.split(".")[:2])
                for name in imported_modules(relative)
                if name == "stack" or name.startswith("stack.")
            }
            # `from stack import pids` names the package too: count the module it reaches.
            if len(modules) > 1:
                modules.discard("stack")
            found.update((relative.as_posix(), module) for module in modules)
    return found


def test_no_product_module_imports_the_local_runner():
    assert runner_imports() <= RUNNER_CONTROL


def test_the_check_finds_an_import_of_the_runner():
    sample = "def f():\n    from stack.settings import settings\n    import stack\n"
    assert {"stack.settings.settings", "stack"} <= imports_in(sample, "sample")


def test_the_shared_kernel_imports_no_component():
    components = ("sor", "soi", "soe", "ops", "events", "bench", "stack", "tests")
    for path in (REPO_ROOT / "kernel").rglob("*.py"):
        for name in imported_modules(path.relative_to(REPO_ROOT)):
            assert name.split(".")[0] not in components, f"{path.name} imports {name}"
