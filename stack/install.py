"""First-run installation of the jars: the Kafka broker, Kafka Connect, the Debezium plugin and
the schema registry.

Resolved with Maven from the poms under connect/ and registry/, copied (or, for the registry's
distribution archive, unpacked) into the state folder, and skipped when the pom has not changed
since the last copy.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from rich.console import Console

from kernel.settings import REPO_ROOT, Settings

console = Console()

JAR_SETS = {
    # pom -> folder under .bank/lib
    REPO_ROOT / "connect" / "kafka" / "pom.xml": Path("kafka"),
    REPO_ROOT / "connect" / "debezium" / "pom.xml": Path("connect-plugins")
    / "debezium-connector-mariadb",
    REPO_ROOT / "registry" / "pom.xml": Path("registry"),
}
# Poms whose dependency is a distribution archive to unpack rather than jars to copy.
UNPACKED = {REPO_ROOT / "registry" / "pom.xml"}


def _digest(pom: Path) -> str:
    return hashlib.sha256(pom.read_bytes()).hexdigest()


def install_jars(settings: Settings) -> None:
    if shutil.which("mvn") is None or shutil.which("java") is None:
        raise SystemExit("Maven (mvn) and a JDK 17 (java) are needed: `make install` installs them")
    for pom, folder in JAR_SETS.items():
        target = settings.path("lib") / folder
        marker = target / ".pom.sha256"
        if marker.exists() and marker.read_text() == _digest(pom):
            continue
        console.print(
            f"[bold]==>[/] resolving {pom.relative_to(REPO_ROOT)} with Maven into {target}"
        )
        if target.exists():
            shutil.rmtree(target)
        subprocess.run(
            [
                "mvn",
                "--batch-mode",
                "--no-transfer-progress",
                "-f",
                str(pom),
                f"dependency:{'unpack' if pom in UNPACKED else 'copy'}-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={target}",
                # Unpacking leaves marker files; kept in the state folder, not the source tree.
                f"-DmarkersDirectory={settings.path('lib', '.maven-markers')}",
            ],
            check=True,
        )
        marker.write_text(_digest(pom))
        jars = len(list(target.rglob("*.jar")))
        console.print(f"    {jars} jars in {target}")
