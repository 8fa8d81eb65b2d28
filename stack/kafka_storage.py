"""Formatting each node's KRaft metadata log once, with one cluster id kept in the state folder
(every node of a cluster is formatted with the same id)."""

from __future__ import annotations

import base64
import subprocess
import uuid
from pathlib import Path

from kernel.settings import Settings
from stack import LOG4J_CONFIG


def cluster_id(settings: Settings) -> str:
    path = settings.path("config", "kafka-cluster-id")
    if not path.exists():
        raw = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(raw)
    return path.read_text().strip()


def format_storage(settings: Settings, config: Path, data_dir: Path | None = None) -> None:
    if ((data_dir or settings.path("data", "kafka")) / "meta.properties").exists():
        return
    subprocess.run(
        [
            "java",
            "-cp",
            f"{settings.path('lib', 'kafka')}/*",
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            "kafka.tools.StorageTool",
            "format",
            "--cluster-id",
            cluster_id(settings),
            "--config",
            str(config),
            "--ignore-formatted",
        ],
        check=True,
        capture_output=True,
    )
