"""What a state folder was made for: its Kafka data belongs to a quorum of so many nodes, with
topics replicated that many times, and cannot be started as another."""

from __future__ import annotations

from kernel.settings import ConfigurationError, Settings


def kafka_nodes_of_state(settings: Settings) -> int | None:
    """The nodes the folder's Kafka data was made by; None for a folder with no Kafka data yet."""
    marker = settings.path("config", "kafka-nodes")
    if marker.exists():
        return int(marker.read_text().strip())
    # Folders made before the marker existed held one node.
    return 1 if (settings.path("data", "kafka") / "meta.properties").exists() else None


def claim_state(settings: Settings) -> None:
    """Refuses to start a topology on a folder made for another; marks a new folder as its own."""
    made_for = kafka_nodes_of_state(settings)
    if made_for is not None and made_for != settings.kafka_nodes:
        raise ConfigurationError(
            f"{settings.state_dir} holds the data of a {made_for}-node Kafka, not the "
            f"{settings.kafka_nodes} nodes of BANK_TOPOLOGY={settings.topology}; set "
            "BANK_STATE_DIR to another folder for it (or `make wipe` to drop this one's data)"
        )
    marker = settings.path("config", "kafka-nodes")
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(f"{settings.kafka_nodes}\n")
