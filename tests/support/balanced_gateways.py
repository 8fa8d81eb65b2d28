"""Two gateways behind HAProxy, as the balanced gateway tests see them (the fixture that starts
them is ``balanced`` in tests/integration/soe/conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Balanced:
    """Two gateways behind HAProxy, configured as the stack configures them (stack/balancer.py)."""

    balancer: Any  # conftest.Gateway: the balancer answers as one gateway would
    gateways: list[Any]

    def serving(self) -> list[Any]:
        """The gateways that hold a websocket now."""
        return [g for g in self.gateways if g.metric("soe_connections")]


# Per gateway: the limit test opens connections from other loopback addresses until refused.
BALANCED_PER_ADDRESS = 3
