"""A cluster's nodes are prepared at once, each on its own thread, and each formats its storage
with the cluster's id, made by the first to ask: every node must get the same, whole id (a node
once read it half-written, empty, and the others refused it: INCONSISTENT_CLUSTER_ID)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from kernel.settings import settings
from stack.kafka_storage import cluster_id

pytestmark = pytest.mark.unit


def ids_asked_at_once(state_dir: Path, nodes: int) -> list[str]:
    config = settings().changed(state_dir=state_dir)
    start, ids = threading.Barrier(nodes), []

    def node() -> None:
        start.wait()
        ids.append(cluster_id(config))

    threads = [threading.Thread(target=node) for _ in range(nodes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return ids


def test_nodes_asking_at_once_for_a_new_cluster_s_id_all_get_the_same_whole_one(tmp_path):
    for attempt in range(200):
        ids = ids_asked_at_once(tmp_path / str(attempt), nodes=3)
        assert len(ids) == 3 and len(set(ids)) == 1 and ids[0], ids
        assert (tmp_path / str(attempt) / "config" / "kafka-cluster-id").read_text() == ids[0]
        # Nothing left behind but the id itself.
        assert [p.name for p in (tmp_path / str(attempt) / "config").iterdir()] == [
            "kafka-cluster-id"
        ]


def test_an_existing_id_is_kept(tmp_path):
    first = ids_asked_at_once(tmp_path, nodes=1)
    assert ids_asked_at_once(tmp_path, nodes=3) == first * 3
