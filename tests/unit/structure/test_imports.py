"""Which code may import which: the tests use the product, never the other way round, and no two
packages or modules lean on each other, so each can be read, changed and shipped from its own
imports down."""

from __future__ import annotations

import pytest

from tests.support.source_tree import (
    cycles,
    imported_modules,
    imports_in,
    module_name,
    product_modules,
)

pytestmark = pytest.mark.unit


def _graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(package → packages it imports, module → modules it imports), over the product."""
    modules = {module_name(path): path for path in product_modules()}
    packages: dict[str, set[str]] = {}
    imports: dict[str, set[str]] = {}
    tops = {name.split(".")[0] for name in modules}
    for name, path in modules.items():
        found = imported_modules(path)
        top = name.split(".")[0]
        packages.setdefault(top, set()).update(
            other for other in (i.split(".")[0] for i in found) if other in tops and other != top
        )
        imports[name] = {i for i in found if i in modules and i != name}
    return packages, imports


def test_no_module_outside_the_tests_imports_them() -> None:
    offenders = {
        str(path): sorted(i for i in imported_modules(path) if i.split(".")[0] == "tests")
        for path in product_modules()
    }
    assert not {path: names for path, names in offenders.items() if names}


def test_no_two_top_level_packages_import_each_other() -> None:
    packages, _ = _graph()
    assert {"bench", "ops", "stack", "sor", "soi", "soe", "events", "kernel"} <= set(packages)
    assert cycles(packages) == []


def test_no_modules_import_each_other_round_a_loop() -> None:
    _, modules = _graph()
    assert cycles(modules) == []


def test_the_cycle_finder_finds_a_loop_of_three_and_nothing_in_a_tree() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_imports_inside_functions_and_relative_imports_count() -> None:
    source = (
        "from . import sibling\n"
        "from ..other import thing\n"
        "def later():\n"
        "    import tests.support.wait\n"
    )
    found = imports_in(source, "bench.chaos.drill")
    assert {"bench.chaos.sibling", "bench.other.thing", "tests.support.wait"} <= found
