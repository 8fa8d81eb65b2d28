"""Modules the size of one idea: a module past the limit holds more than one, and is where a
newcomer stops reading. Tests may be longer (a file of cases of one rule)."""

from __future__ import annotations

import pytest

from tests.support.source_tree import REPO, product_modules

pytestmark = pytest.mark.unit

MOST_LINES = 500


def test_no_module_outside_the_tests_is_over_500_lines() -> None:
    too_long = {
        str(path): lines
        for path in product_modules()
        if (lines := len((REPO / path).read_text().splitlines())) > MOST_LINES
    }
    assert not too_long, f"split these into modules of one idea each: {too_long}"


def test_the_walk_sees_the_product_and_not_the_tests() -> None:
    found = {str(path) for path in product_modules()}
    assert {"soe/app.py", "sor/bank/services.py", "bench/scenarios/latency.py"} <= found
    assert not any(name.startswith(("tests/", ".venv/")) for name in found)
