"""Checks of single values that marshmallow's validators do not offer, as plain functions.

The schema wraps each in a marshmallow validator (:func:`cpi_framework.config.schema.plain`)
and the fast path calls it directly, so both judge a value the same way. They return whether
the value passes; the schema holds the message. Written with ``str`` methods rather than
regular expressions: they run on every CPI call, and a compiled pattern is paid per process.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def http_url(value: str) -> bool:
    """An absolute http(s) URL with a host name, IPv4 or [IPv6] address and an optional port.

    Accepts what ``fields.Url(schemes={"http", "https"}, require_tld=False)`` accepted for an API
    endpoint, without that validator's regex: it spans every Unicode letter case-insensitively
    and took ~30 ms to compile on every CPI call, nearly all of the config's validation time.
    Internationalised host names are written in their ASCII (IDNA) form in an endpoint.
    """
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in 0-65535
    except ValueError:
        return False
    host = parts.hostname or ""
    return (parts.scheme.lower() in ("http", "https") and bool(host) and not any(c.isspace() for c in value)
            and (is_host_name(host) or _is_ip_literal(host, parts.netloc)))


def is_host_name(host: str) -> bool:
    """RFC 1123 labels of ASCII letters, digits and inner hyphens, 1-63 long, dot-separated, one final dot allowed."""
    labels = (host[:-1] if host.endswith(".") else host).split(".")
    return all(_is_label(label) for label in labels)


def _is_label(label: str) -> bool:
    return (0 < len(label) <= 63 and label.isascii() and label.replace("-", "").isalnum()
            and label[0] != "-" and label[-1] != "-")


def _is_ip_literal(host: str, netloc: str) -> bool:
    import ipaddress

    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.version == 4 or f"[{host}]" in netloc.lower()
