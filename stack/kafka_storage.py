"""Formatting each node's KRaft metadata log once, with one cluster id kept in the state folder
(every node of a cluster is formatted with the same id)."""

from __future__ import annotations

import base64
import os
import subprocess
import uuid
from pathlib import Path

from kernel.settings import Settings
from stack import LOG4J_CONFIG


def cluster_id(settings: Settings) -> str:
    """The cluster's id, made by the first node to ask. A cluster's nodes are prepared at once,
    each on its own thread: the id is written whole to a file of its own, then linked into place
    (which fails when another node's is there already), so no node reads a half-written id (one
    read an empty one, was formatted with it, and the cluster refused it: INCONSISTENT_CLUSTER_ID)
    or a different one."""
    path = settings.path("config", "kafka-cluster-id")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        raw = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        draft = path.with_name(f"{path.name}.{uuid.uuid4().hex}")
        draft.write_text(raw)
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another node's id is in place, whole
        finally:
            draft.unlink()
    made = path.read_text().strip()
    if not made:
        raise RuntimeError(f"{path} is empty: delete it (and the nodes' data) and start again")
    return made


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
