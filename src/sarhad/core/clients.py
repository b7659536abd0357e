"""Who is calling: the client address every per-address limit keys on, and whom to believe.

The address is the socket's peer. A reverse proxy's ``X-Forwarded-For`` is believed only when
that peer is one of ``settings.trusted_proxies``; the server applies the rule before the app
sees the request (``server_options``, used by ``sarhad serve``), so the app reads one value,
``request.client``, and never a header. Uvicorn on its own believes the header from
127.0.0.1, which would let any local process choose its address and so escape every
per-address limit: ``server_options`` turns that off unless proxies are configured.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from starlette.requests import Request

from sarhad.core.config import Settings


def server_options(settings: Settings) -> dict[str, Any]:
    """The uvicorn options that make ``request.client`` the real client (see module doc)."""
    proxies = list(settings.trusted_proxies)
    return {"proxy_headers": bool(proxies), "forwarded_allow_ips": proxies}


def client_address(request: Request) -> str:
    """The calling client's address as a limit key: IPv4, or an IPv6 /64.

    Why the /64: one household, phone or server is given a whole /64, so counting single
    IPv6 addresses would let one client take 2**64 fresh starts.
    """
    host = request.client.host if request.client else ""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
