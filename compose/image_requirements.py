"""The pinned requirements of one service's image: pyproject.toml's dependencies and the service's
extra, with the extras of the project itself that it names expanded.

The Dockerfile's builder runs it (standard library only) and pip installs what it prints:
    python image_requirements.py pyproject.toml soe > requirements.txt
The tests read the same list to check each service imports nothing outside its image.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path


def requirements(pyproject: Path, extra: str) -> list[str]:
    project = tomllib.loads(pyproject.read_text())["project"]
    extras: dict[str, list[str]] = project.get("optional-dependencies", {})
    own = re.compile(rf"{re.escape(project['name'])}\[(?P<names>[^\]]+)\]")
    chosen = list(project.get("dependencies", []))
    seen: set[str] = set()

    def add(name: str) -> None:
        if name not in extras:
            raise SystemExit(f"{pyproject} has no extra {name!r}; it has {', '.join(extras)}")
        if name in seen:
            return
        seen.add(name)
        for requirement in extras[name]:
            included = own.fullmatch(requirement.replace(" ", ""))
            if included:
                for other in included["names"].split(","):
                    add(other)
            else:
                chosen.append(requirement)

    add(extra)
    return list(dict.fromkeys(chosen))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(f"usage: {sys.argv[0]} PYPROJECT EXTRA")
    print(*requirements(Path(sys.argv[1]), sys.argv[2]), sep="\n")
