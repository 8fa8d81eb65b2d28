"""Which address a request came from, for throttles and the sign-in lockout.

``X-Forwarded-For`` is written by whoever sends the request, so it names the client only when
the direct peer is a proxy the bank runs. Those proxies are listed in BANK_TRUSTED_PROXIES
(addresses or networks, comma separated; empty by default: no proxy is trusted).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from functools import cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """``"10.0.0.1, 10.1.0.0/16"``; a wrong entry raises ValueError naming it."""
    networks = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(
                f"BANK_TRUSTED_PROXIES: {item!r} is not an IP address or network"
            ) from None
    return tuple(networks)


def _is_trusted(address: str, proxies: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_of(peer: str, forwarded_for: str | None, proxies: Sequence[Network]) -> str:
    """The client's address: the peer, unless the peer is a trusted proxy; then the right-most
    address in X-Forwarded-For that is not itself a trusted proxy (each proxy appends the
    address it got the request from, so everything left of that could be forged)."""
    if not forwarded_for or not _is_trusted(peer, proxies):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, proxies):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # a proxy of ours would not write garbage: do not trust this header
    return hops[0] if hops else peer


@cache
def _trusted(text: str) -> tuple[Network, ...]:
    return parse_networks(text)


def client_address(request: HttpRequest) -> str:
    """The address a request came from, as far as the bank can know it."""
    peer = request.META.get("REMOTE_ADDR", "") or ""
    return client_of(
        peer, request.META.get("HTTP_X_FORWARDED_FOR"), _trusted(settings.BANK_TRUSTED_PROXIES)
    )
