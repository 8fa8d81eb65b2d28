"""Tidying the schema registry after tests: the subjects of deleted scratch topics go too (the
registry serves at most a thousand subjects)."""

from __future__ import annotations

from confluent_kafka.schema_registry.error import SchemaRegistryError

from events import codec


def forget_subjects(topics: list[str]) -> None:
    client = codec.default().client
    for topic in topics:
        name = codec.subject(topic)
        try:
            client.delete_subject(name)
            client.delete_subject(name, permanent=True)
        except SchemaRegistryError as error:
            if error.http_status_code != 404:  # a topic nothing was encoded for has no subject
                raise
