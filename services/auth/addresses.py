"""The client address of a call, as the Envoy edge vouches for it, for throttling log-ins per address.

What reaches a service through the edge (checked against Envoy with `use_remote_address: true`):
`x-envoy-external-address` holds the trusted client address, and Envoy overwrites any copy a client sends;
`x-forwarded-for` ends with the address Envoy appended (for a loopback client, the host's own address instead),
after whatever the client put there. So the first is the one to trust, the last entry of the second a
fallback (when an operator marks client ranges internal, Envoy leaves `x-envoy-external-address` out), and the
gRPC peer the address of a caller that did not come through the edge at all.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

__all__ = ["client_address"]

EXTERNAL_ADDRESS = "x-envoy-external-address"
FORWARDED_FOR = "x-forwarded-for"
_MAX_LENGTH = 64


def client_address(metadata: Iterable[tuple[str, str | bytes]], peer: str) -> str:
    """The address to count a caller's failures under.

    IPv6 addresses are reduced to their /64 network: one client usually holds a whole /64 and could otherwise
    try again from a fresh address each time.
    """
    values = {key: value.decode("latin-1") if isinstance(value, bytes) else value for key, value in metadata}
    external = values.get(EXTERNAL_ADDRESS, "").strip()
    if external:
        return _normalize(external)
    forwarded = [hop.strip() for hop in values.get(FORWARDED_FOR, "").split(",") if hop.strip()]
    if forwarded:
        return _normalize(forwarded[-1])
    return _normalize(_peer_host(peer))


def _peer_host(peer: str) -> str:
    """The host of a gRPC peer string: `ipv4:1.2.3.4:5678`, `ipv6:[::1]:5678`, `unix:/path`."""
    kind, _, rest = peer.partition(":")
    if kind == "ipv4":
        return rest.rpartition(":")[0] or rest
    if kind == "ipv6":
        return rest.rpartition("]")[0].lstrip("[") or rest
    return peer or "unknown"


def _normalize(text: str) -> str:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return text[:_MAX_LENGTH]  # not an address (a unix socket, a name): still one subject, bounded
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)
