"""Request parameters as the server's dispatch sees them.

Plain names are case-insensitive (``ParamUnpackWorker`` lowercases them); maps arrive as
``name[i].field`` (the prefix is lowercased, the field keeps its case); lists are
comma-separated strings.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from .errors import CS_SERVER_API, ApiError, invalid_uuid, missing_param, param_error

_MAP = re.compile(r"^([^\[\]]+)\[(\d+)\]\.([^\[\]]+)$")
_TRUE = {"true"}
_FALSE = {"false"}


class Params:
    """Typed access to one request's parameters, raising the server's errors."""

    def __init__(self, command: str, raw: dict[str, str]) -> None:
        self.command = command
        self.raw = raw
        self.plain: dict[str, str] = {}
        self.maps: dict[str, dict[int, dict[str, str]]] = {}
        for name, value in raw.items():
            if "[" in name or "]" in name:
                m = _MAP.match(name)
                if not m:
                    raise ApiError(430, f"Unable to decode parameter {name}; if specifying an object array, "
                                        "please use parameter[index].field=XXX, e.g. "
                                        "userGroupList[0].group=httpGroup", CS_SERVER_API)
                prefix, index, fld = m.groups()
                self.maps.setdefault(prefix.lower(), {}).setdefault(int(index), {})[fld] = value
            else:
                self.plain[name.lower()] = value

    def __contains__(self, name: str) -> bool:
        return name in self.plain or name in self.maps

    def str(self, name: str, required: bool = False, default: str | None = None) -> str | None:
        value = self.plain.get(name)
        if value is None or (value == "" and required):
            if required:
                raise missing_param(self.command, name)
            return default
        return value

    def req(self, name: str) -> str:
        value = self.str(name, required=True)
        assert value is not None
        return value

    def bool(self, name: str, default: bool = False) -> bool:
        value = self.plain.get(name)
        if value is None or value == "":
            return default
        low = value.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise param_error(f"Unable to execute API command {self.command.lower()} due to invalid value "
                          f"{value} for parameter {name}")

    def int(self, name: str, default: int | None = None, required: bool = False) -> int | None:
        value = self.str(name, required=required)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise param_error(f"Unable to execute API command {self.command.lower()} due to invalid value. "
                              f"Invalid parameter {name} value={value} due to incorrect long value format, "
                              "or entity does not exist or due to incorrect parameter annotation for the "
                              "field in api cmd class.") from None

    def list(self, name: str) -> list[str]:
        value = self.plain.get(name)
        if not value:
            return []
        return [v.strip() for v in value.split(",") if v.strip()]

    def map(self, name: str) -> list[dict[str, str]]:
        """Map entries in index order; field names lowercased for lookup convenience."""
        entries = self.maps.get(name, {})
        return [{k.lower(): v for k, v in entries[i].items()} for i in sorted(entries)]

    def map_raw(self, name: str) -> list[dict[str, str]]:
        """Map entries in index order with field names as sent (``details[0].cpuNumber``)."""
        entries = self.maps.get(name, {})
        return [dict(entries[i]) for i in sorted(entries)]

    def details(self, name: str = "details") -> dict[str, str]:
        """Flatten ``details[i].key=value`` entries (both cloudstack-go forms) into one dict."""
        out: dict[str, str] = {}
        for entry in self.map_raw(name):
            if set(k.lower() for k in entry) == {"key", "value"}:
                low = {k.lower(): v for k, v in entry.items()}
                out[low["key"]] = low["value"]
            else:
                out.update(entry)
        return out

    def uuid(self, name: str, lookup: Callable[[str], object | None], required: bool = False,
             include_removed: Callable[[str], bool] | None = None) -> object | None:
        """Resolve an entity id like ``translateUuidToInternalId``: unknown -> 431."""
        value = self.str(name, required=required)
        if value is None:
            return None
        obj = lookup(value)
        if obj is None:
            raise invalid_uuid(name, value)
        return obj


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
