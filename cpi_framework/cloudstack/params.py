"""Turning Python values into CloudStack parameters, and keeping secrets out of text.

CloudStack takes lists as comma-separated strings and maps as ``name[i].field=value``; names are
case-insensitive on the server, so plain names (and the prefix of map names) are sent lowercased,
which also makes signing unambiguous. Map field names keep their case (``details[0].cpuNumber``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["flatten_params", "is_read_only", "redact_params", "scrub"]

_REDACTED = "***"
MIN_SECRET_LENGTH = 4
_DROP = {"apikey", "signature"}
_SECRET_WORDS = ("password", "secret", "privatekey")
_MAP_NAME = re.compile(r"^([^\[\]]+)(\[.*)$")


def is_read_only(command: str) -> bool:
    """Reads may be retried blindly and sent as GET: ``list*``, ``get*``, ``query*``.

    ``getUploadParamsFor*`` is a ``get`` in name only: it registers an upload on the server.
    """
    c = command.lower()
    if c.startswith("getuploadparamsfor"):
        return False
    return c.startswith(("list", "get", "query"))


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8")
    raise TypeError(f"unsupported CloudStack parameter value of type {type(value).__name__}")


def _name(name: str) -> str:
    match = _MAP_NAME.match(name)
    if match:
        return match.group(1).lower() + match.group(2)
    return name.lower()


def _map_entries(name: str, items: Iterable[Mapping[str, Any]], out: dict[str, str]) -> None:
    for index, item in enumerate(items):
        for field, value in item.items():
            if value is not None:
                out[f"{name}[{index}].{field}"] = _scalar(value)


def flatten_params(params: Mapping[str, Any] | None) -> dict[str, str]:
    """Flatten ``params`` to wire strings; ``None`` values and empty lists are dropped.

    ``{"details": {"cpuNumber": 2}}`` → ``details[0].cpuNumber=2``;
    ``{"tags": [{"key": "a", "value": "b"}]}`` → ``tags[0].key=a``, ``tags[0].value=b``;
    ``{"ids": ["a", "b"]}`` → ``ids=a,b``; ``True`` → ``true``.
    """
    out: dict[str, str] = {}
    for raw_name, value in (params or {}).items():
        if value is None:
            continue
        name = _name(raw_name)
        if isinstance(value, Mapping):
            _map_entries(name, [value], out)
        elif isinstance(value, (list, tuple)):
            if not value:
                continue
            if all(isinstance(v, Mapping) for v in value):
                _map_entries(name, value, out)
            else:
                out[name] = ",".join(_scalar(v) for v in value if v is not None)
        else:
            out[name] = _scalar(value)
    return out


def redact_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """A copy fit for logs: no ``apikey``/``signature``, no passwords, user-data as its size."""
    shown: dict[str, Any] = {}
    for name, value in params.items():
        low = name.lower()
        if low in _DROP:
            continue
        if low == "userdata" and value is not None:
            size = len(value.encode("utf-8")) if isinstance(value, str) else len(value)
            shown[name] = f"<{size} bytes>"
        elif any(word in low for word in _SECRET_WORDS):
            shown[name] = _REDACTED
        else:
            shown[name] = value
    return shown


_QUERY_SECRETS = re.compile(r"((?:apikey|signature|expires)=)[^&\s'\"]*", re.IGNORECASE)
_QUERY = re.compile(r"\?(?=[^\s'\"]*=)[^\s'\"]*")
_USERINFO = re.compile(r"//[^/@\s'\"]+@")


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove known secrets, signed-query parts and URL credentials from ``text``.

    Used on every transport/server text before it goes into an exception or a log line, because
    servers and proxies may echo the signed URL (``...?apikey=...&signature=...``) in their answers.
    """
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET_LENGTH:  # masking "s" would mangle every message
            text = text.replace(secret, _REDACTED)
    text = _QUERY_SECRETS.sub(r"\1" + _REDACTED, text)
    text = _QUERY.sub("?" + _REDACTED, text)
    return _USERINFO.sub("//" + _REDACTED + "@", text)
