"""The project's own Python modules, found on disk, for the tests of its structure."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Not the project's code: the virtualenv, run state, test output, caches.
_NOT_SOURCE = {"tests", "node_modules", "__pycache__", "test-artifacts", "results"}


def python_files(top: Path = REPO) -> Iterator[Path]:
    """Every .py file below `top`, relative to the repository, hidden folders left out."""
    for path in sorted(top.rglob("*.py")):
        relative = path.relative_to(REPO)
        folders = relative.parts[:-1]
        if any(part.startswith(".") for part in folders):
            continue
        yield relative


def product_modules() -> Iterator[Path]:
    """Every module outside tests/: the product, the runner, the ops console, the benchmarks."""
    for relative in python_files():
        if not _NOT_SOURCE.intersection(relative.parts[:-1]):
            yield relative
