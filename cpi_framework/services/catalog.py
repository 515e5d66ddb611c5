"""Lookups of the cloud's catalogue by name or id: zones, offerings, networks, OS types, key pairs.

Each lookup asks CloudStack for exactly one thing (by id, or by name filtered exactly on
our side, since ``name=`` can match substrings) and caches it for the rest of the call. A
missing item is the operator's to fix: the CloudError names it and lists what exists.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cpi_framework.errors import CloudError

if TYPE_CHECKING:
    from cpi_framework.context import CallContext

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)


def is_uuid(value: str) -> bool:
    return bool(UUID.match(value or ""))


def _cached(ctx: CallContext, key: tuple[Any, ...], load: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    if key not in ctx.cache:
        ctx.cache[key] = load()
    return ctx.cache[key]


def find_one(
    ctx: CallContext,
    command: str,
    name_or_id: str,
    params: dict[str, Any] | None = None,
    *,
    name_field: str = "name",
) -> dict[str, Any] | None:
    """One item by id (when it looks like a UUID) or by exact name; None when absent.

    A name that matches several items is ambiguous and an error: guessing could deploy into
    the wrong network or bill the wrong offering.
    """
    from cpi_framework.cloudstack import ApiError

    params = dict(params or {})
    if is_uuid(name_or_id):
        try:
            items = ctx.client.list(command, {**params, "id": name_or_id})
        except ApiError as exc:
            if not exc.is_not_found:
                raise
            items = []
        items = [i for i in items if i.get("id") == name_or_id]
        if items:
            return items[0]
    if name_field == "name":
        items = ctx.client.find_by_name(command, name_or_id, params)
    else:
        items = [
            i for i in ctx.client.list(command, {**params, name_field: name_or_id}) if i.get(name_field) == name_or_id
        ]
    if len(items) > 1:
        ids = ", ".join(str(i.get("id")) for i in items)
        raise CloudError(f"{command}: {name_field} '{name_or_id}' is ambiguous, it matches {ids}; use the id")
    return items[0] if items else None


def _missing(
    ctx: CallContext, what: str, name: str, command: str, params: dict[str, Any], field: str = "name"
) -> CloudError:
    try:
        names = sorted({str(i.get(field)) for i in ctx.client.list(command, params)})
        known = ", ".join(names[:30]) + (" …" if len(names) > 30 else "") if names else "none"
    except Exception:  # the error we are building matters more than the list
        known = "unknown"
    return CloudError(f"{what} '{name}' not found (available: {known})")


def zone(ctx: CallContext, name_or_id: str | None = None) -> dict[str, Any]:
    """A zone by name or id; the config's ``default_zone`` when None."""
    wanted = name_or_id or ctx.config.cloudstack.default_zone

    def load() -> dict[str, Any]:
        found = find_one(ctx, "listZones", wanted, {"available": True})
        if found is None:
            raise _missing(ctx, "zone", wanted, "listZones", {"available": True})
        return found

    return _cached(ctx, ("zone", wanted), load)


def zone_name(ctx: CallContext, zone_id: str | None) -> str:
    """How logs and messages name a zone: its name when this call already looked it up, else the id.

    Never a request of its own: a name is only worth it when it is free.
    """
    for key, value in ctx.cache.items():
        if key[:1] == ("zone",) and isinstance(value, dict) and value.get("id") == zone_id and value.get("name"):
            return str(value["name"])
    return zone_id or "?"


def service_offering(ctx: CallContext, name_or_id: str) -> dict[str, Any]:
    def load() -> dict[str, Any]:
        found = find_one(ctx, "listServiceOfferings", name_or_id)
        if found is None:
            raise _missing(ctx, "compute offering", name_or_id, "listServiceOfferings", {})
        return found

    return _cached(ctx, ("service_offering", name_or_id), load)


def disk_offering(ctx: CallContext, name_or_id: str) -> dict[str, Any]:
    def load() -> dict[str, Any]:
        found = find_one(ctx, "listDiskOfferings", name_or_id)
        if found is None:
            raise _missing(ctx, "disk offering", name_or_id, "listDiskOfferings", {})
        return found

    return _cached(ctx, ("disk_offering", name_or_id), load)


def network(ctx: CallContext, zone_id: str, name_or_id: str) -> dict[str, Any]:
    """A guest network of the zone by name or id (names are unique only per zone)."""

    def load() -> dict[str, Any]:
        params = {"zoneid": zone_id, "listall": True}
        if is_uuid(name_or_id):
            found = find_one(ctx, "listNetworks", name_or_id, params)
        else:
            items = ctx.client.list("listNetworks", {**params, "keyword": name_or_id})
            matches = [i for i in items if i.get("name") == name_or_id]
            if len(matches) > 1:
                ids = ", ".join(str(i.get("id")) for i in matches)
                raise CloudError(f"network name '{name_or_id}' is ambiguous in the zone, it matches {ids}; use the id")
            found = matches[0] if matches else None
        if found is None:
            raise _missing(ctx, "network", name_or_id, "listNetworks", params)
        return found

    return _cached(ctx, ("network", zone_id, name_or_id), load)


def os_type(ctx: CallContext, description: str) -> dict[str, Any]:
    """An OS type by its description (what operators and plugins name), or by id."""

    def load() -> dict[str, Any]:
        found = find_one(ctx, "listOsTypes", description, name_field="description")
        if found is None:
            raise _missing(ctx, "OS type", description, "listOsTypes", {}, field="description")
        return found

    return _cached(ctx, ("os_type", description), load)


def key_pair(ctx: CallContext, name: str) -> dict[str, Any]:
    def load() -> dict[str, Any]:
        items = ctx.client.find_by_name("listSSHKeyPairs", name)
        if not items:
            raise _missing(ctx, "SSH key pair", name, "listSSHKeyPairs", {})
        return items[0]

    return _cached(ctx, ("key_pair", name), load)
