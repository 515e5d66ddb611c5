"""Which proxy a URL goes through: the caller's, else the environment's, exactly as ``requests`` chose.

``cloudstack.proxy_*`` gives the caller's (``{"http": url, "https": url}``); without it, the
environment's ``http_proxy``/``https_proxy``/``all_proxy`` apply except for hosts in
``no_proxy`` (requests' ``trust_env``, which the CPI has always had: ``bin/cpi`` exports the
release's ``env.*_proxy`` properties). ``urllib.request`` is imported only when such a variable is
set (or on macOS/Windows, whose system settings ``getproxies`` also reads).
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Mapping
from urllib.parse import urlsplit

__all__ = ["proxy_for"]


def proxy_for(url: str, proxies: Mapping[str, str] | None) -> str | None:
    """The proxy URL for ``url``: the caller's ``proxies`` first, else the environment's, as requests did.

    requests' keys are tried in its order (``scheme://host``, ``scheme``, ``all://host``, ``all``);
    the environment (``urllib.request.getproxies``, imported only when a ``*_proxy`` variable is set
    or the platform keeps proxies elsewhere) is skipped for hosts in ``NO_PROXY``.
    """
    parts = urlsplit(url)
    scheme, host = parts.scheme, parts.hostname or ""
    keys = (f"{scheme}://{host}", scheme, f"all://{host}", "all")
    for key in keys:
        if proxies and proxies.get(key):
            return proxies[key]
    if not (any(name.lower().endswith("_proxy") for name in os.environ) or sys.platform in ("darwin", "win32")):
        return None
    if _bypassed(host, parts.port):
        return None
    import urllib.request

    environment = urllib.request.getproxies()
    return next((environment[key] for key in keys if environment.get(key)), None)


def _bypassed(host: str, port: int | None) -> bool:
    """requests' ``should_bypass_proxies``: ``NO_PROXY`` by suffix, IPv4 address or CIDR, then urllib's rule."""
    no_proxy = os.environ.get("no_proxy") or os.environ.get("NO_PROXY")
    if not host:
        return True
    if no_proxy:
        entries = [entry for entry in no_proxy.replace(" ", "").split(",") if entry]
        if _is_ipv4(host):
            for entry in entries:
                if "/" in entry and _in_network(host, entry):
                    return True
                if host == entry:
                    return True
        else:
            with_port = f"{host}:{port}" if port else host
            if any(host.endswith(entry) or with_port.endswith(entry) for entry in entries):
                return True
    import urllib.request

    try:
        return bool(urllib.request.proxy_bypass(host))
    except (TypeError, OSError):
        return False


def _is_ipv4(host: str) -> bool:
    try:
        socket.inet_aton(host)
    except OSError:
        return False
    return True


def _in_network(address: str, cidr: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False
