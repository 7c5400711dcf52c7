"""The client address that per-client caps count (SPEC 9).

The socket's peer, unless that peer is a trusted proxy (TRUSTED_PROXIES): then the
right-most X-Forwarded-For entry that is not itself a trusted proxy. IPv6 clients are
counted per /64, the block one subscriber usually holds.
"""

import ipaddress
from collections.abc import Sequence

from starlette.requests import Request

from otpservice.settings import IPNetwork

IPV6_CLIENT_PREFIX = 64


def client_address(request: Request, trusted: Sequence[IPNetwork]) -> str:
    peer = _parse(request.client.host) if request.client else None
    if peer is None:
        return "unknown"
    if trusted and _is_trusted(peer, trusted):
        for entry in reversed(",".join(request.headers.getlist("x-forwarded-for")).split(",")):
            address = _parse(entry.strip())
            if address is None:
                break  # a malformed hop: the trusted peer is the last address we can vouch for
            if not _is_trusted(address, trusted):
                return _bucket(address)
    return _bucket(peer)


def _parse(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, trusted: Sequence[IPNetwork]) -> bool:
    return any(address.version == network.version and address in network for network in trusted)


def _bucket(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{address}/{IPV6_CLIENT_PREFIX}", strict=False))
    return str(address)
