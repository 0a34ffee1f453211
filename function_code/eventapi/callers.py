"""Who a sign-in request is charged to: the client address (an IPv6 /64 as one), and the caller behind it.

Counters are keyed on keyed hashes of these, never on the addresses themselves.

An IPv6 host usually holds a whole /64 and can pick any address in it, so a /64 is one address
here (RFC 6177, RFC 7934): otherwise one host would get unlimited counters. An IPv4-mapped IPv6
address is its IPv4 address.

A venue puts hundreds of attendees behind one NAT address, and nothing the network carries tells
them apart. The caller is the address plus the program's User-Agent: a greedy script that loops
on sign-in starts spends its own share (a fraction of the address's) and leaves the rest to the
others. A client that varies its User-Agent is still bounded by the address's limit and the
edge's per-address WAF rule; THREATS.md (T33) names this.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated

from fastapi import Depends, Request

from eventapi.deps import ClientIpDep, app_services

# RFC 6177: end sites get a /48-/64; a single host's SLAAC addresses share one /64.
IPV6_HOST_PREFIX = 64
# User-Agents are short; a long one is cut rather than hashed whole.
_USER_AGENT_CHARS = 200


def address_key(ip: str) -> str:
    """The address the per-address limits count: IPv4 as it is, IPv6 as its /64, anything else as given."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_HOST_PREFIX), strict=False))
    return str(address)


async def address_digest(request: Request, ip: ClientIpDep) -> str:
    """The keyed hash of the caller's address key (what address counters are keyed on)."""
    return app_services(request).keyed_hash.digest("client-ip", address_key(ip))


async def caller_digest(request: Request, ip: ClientIpDep) -> str:
    """The keyed hash of (address key, User-Agent): one program on one address."""
    agent = request.headers.get("user-agent", "")[:_USER_AGENT_CHARS]
    return app_services(request).keyed_hash.digest("caller", f"{address_key(ip)} {agent}")


AddressDep = Annotated[str, Depends(address_digest)]
CallerDep = Annotated[str, Depends(caller_digest)]
