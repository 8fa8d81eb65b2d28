"""What bankctl cannot do, said so an ops engineer knows where to look next.

Exit codes: 0 all good, 1 a finding (a failed connector, a reconcile mismatch), 2 a usage error
(typer's own), 3 a service could not be reached or a thing named on the command line does not
exist.
"""

from __future__ import annotations

FINDINGS = 1
CANNOT = 3


class OpsError(Exception):
    """What went wrong, where, and what to try."""

    def __init__(self, what: str, *, where: str | None = None, hint: str | None = None) -> None:
        super().__init__(what)
        self.what, self.where, self.hint = what, where, hint

    def __str__(self) -> str:
        lines = [self.what]
        if self.where:
            lines.append(f"  where: {self.where}")
        if self.hint:
            lines.append(f"  try: {self.hint}")
        return "\n".join(lines)


class Unreachable(OpsError):
    """A service (Kafka, Connect, the database, the gateway) does not answer."""


class NotFound(OpsError):
    """A topic, connector or account named on the command line does not exist."""
