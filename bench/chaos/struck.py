"""What striking a fault took, for the round's figures."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Struck:
    """What striking took: the seconds until the component ran again (for a freeze, how long it
    was frozen), what was seen on the way, and what went wrong with the fault itself."""

    seconds: float
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
