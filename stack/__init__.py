"""The local stack: installs, starts and supervises every process of the bank on loopback."""

from kernel.settings import REPO_ROOT

# How the JVMs of the local stack (Kafka, Connect, their tools) log.
LOG4J_CONFIG = REPO_ROOT / "connect" / "log4j2.properties"
