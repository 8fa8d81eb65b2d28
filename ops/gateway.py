"""The gateway's fan-out record (`GET /fan-out`): when it queued an event to its watchers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import httpx

from ops.errors import OpsError, Unreachable

# The gateway answers at most this many ids per request.
IDS_PER_REQUEST = 100


@dataclass(frozen=True)
class FanOut:
    fanned_out_at: int  # epoch ms, the gateway's clock
    watchers: int  # connections the event was queued to
    at_start: bool  # read back while the gateway caught up at its start: not sent live


class Gateway:
    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = url
        self.timeout = timeout

    def fan_outs(self, event_ids: Iterable[str]) -> dict[str, FanOut]:
        """The fan-outs the gateway still remembers; ids it does not are absent."""
        ids = list(dict.fromkeys(event_ids))
        found: dict[str, FanOut] = {}
        for start in range(0, len(ids), IDS_PER_REQUEST):
            answer = self._get({"event_id": ids[start : start + IDS_PER_REQUEST]})
            found.update({i: FanOut(**fan_out) for i, fan_out in answer.items()})
        return found

    def _get(self, params: dict[str, list[str]]) -> dict[str, dict]:
        try:
            response = httpx.get(f"{self.url}/fan-out", params=params, timeout=self.timeout)
        except httpx.HTTPError as error:
            raise Unreachable(
                f"the gateway is not answering: {error or type(error).__name__}",
                where=self.url,
                hint="is the stack up? `make status`; set BANK_SOE_PORT or pass --gateway-url",
            ) from None
        if response.status_code == 404:
            raise OpsError(
                "the gateway has no /fan-out: it runs code older than this bankctl",
                where=self.url,
                hint="restart the gateway",
            )
        if response.status_code != 200:
            raise OpsError(
                f"the gateway answered /fan-out with HTTP {response.status_code}: "
                f"{response.text[:200]}",
                where=self.url,
            )
        return response.json()
