"""The project's own Python modules, found on disk, for the tests of its structure."""

from __future__ import annotations

import ast
import fnmatch
import os
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Not the project's code: the virtualenv, run state, test output, caches.
_NOT_SOURCE = {"tests", "node_modules", "__pycache__", "test-artifacts", "results"}


def project_files(pattern: str, top: Path = REPO) -> list[Path]:
    """Every file below `top` whose name matches the glob `pattern`, relative to the repository.

    Hidden folders are pruned before they are entered: `.bank/` holds the running stack's data,
    where the broker deletes folders while a walk would read them."""
    found = []
    for folder, subfolders, files in os.walk(top):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        found.extend(Path(folder, name) for name in fnmatch.filter(files, pattern))
    return sorted(path.relative_to(REPO) for path in found)


def python_files(top: Path = REPO) -> Iterator[Path]:
    """Every .py file below `top`, relative to the repository, hidden folders left out."""
    yield from project_files("*.py", top)


def product_modules() -> Iterator[Path]:
    """Every module outside tests/: the product, the runner, the ops console, the benchmarks."""
    for relative in python_files():
        if not _NOT_SOURCE.intersection(relative.parts[:-1]):
            yield relative


def imported_modules(relative: Path) -> set[str]:
    """The dotted names a module imports, at any depth of its code (imports inside functions
    count: they run too). Relative imports are resolved against the module's package."""
    return imports_in((REPO / relative).read_text(), module_name(relative), relative.name)


def imports_in(source: str, module: str, file_name: str = "module.py") -> set[str]:
    """The dotted names `source`, the code of module `module`, imports."""
    tree = ast.parse(source, file_name)
    package = module.split(".")[: -1 if file_name != "__init__.py" else None]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[: len(package) - node.level + 1], *filter(None, [base])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def module_name(relative: Path) -> str:
    parts = relative.with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected parts of more than one node (Tarjan's algorithm): each is a set
    of nodes that import each other, directly or round a loop."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            part = []
            while (member := stack.pop()) != node:
                part.append(member)
            part.append(node)
            if len(part) > 1:
                found.append(sorted(part))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found
