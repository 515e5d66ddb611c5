"""``calculate_vm_cloud_properties``: the smallest offerings that fit a director's ``vm_resources``.

Fixes of the Java CloudStack CPI's behaviour: the answer includes ``disk`` (create_vm needs it),
the disk tag filter is never dropped, and when nothing fits the call fails naming the request
and the largest offering instead of silently returning an offering that is too small.
Fixed-size offerings are preferred; a customised offering is the fallback (sized exactly).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from cpi_framework.errors import CloudError, CpiError

if TYPE_CHECKING:
    from cpi_framework.context import CallContext


def _int(desired: dict[str, Any], key: str, minimum: int) -> int:
    value = desired.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise CpiError(f"Invalid desired_instance_size.{key} = {value!r}: expected an integer >= {minimum}")
    return value


def _tags(item: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for field in ("tags", "storagetags", "hosttags"):
        value = item.get(field)
        if isinstance(value, str):
            found.update(t.strip() for t in value.split(",") if t.strip())
    return found


def _filter(items: list[dict[str, Any]], wanted: tuple[str, ...]) -> list[dict[str, Any]]:
    if not wanted:
        return items
    return [i for i in items if _tags(i) & set(wanted)]


def compute_offering_for(ctx: CallContext, cpu: int, ram: int) -> dict[str, Any]:
    """``{"compute_offering": name}`` (+ ``cpu``/``ram`` for a customised offering)."""
    wanted = ctx.config.cpi.compute_offering_tags
    offerings = _filter(ctx.client.list("listServiceOfferings", {"issystem": False}), wanted)
    fixed = [o for o in offerings if not o.get("iscustomized")
             and int(o.get("cpunumber") or 0) >= cpu and int(o.get("memory") or 0) >= ram]
    if fixed:
        best = min(fixed, key=lambda o: (int(o["memory"]), int(o["cpunumber"]), int(o.get("cpuspeed") or 0),
                                         str(o.get("name"))))
        return {"compute_offering": best["name"]}
    custom = sorted((o for o in offerings if o.get("iscustomized")), key=lambda o: str(o.get("name")))
    if custom:
        return {"compute_offering": custom[0]["name"], "cpu": cpu, "ram": ram}
    largest = max(offerings, key=lambda o: (int(o.get("memory") or 0), int(o.get("cpunumber") or 0)), default=None)
    biggest = (f"; the largest is '{largest.get('name')}' ({largest.get('cpunumber')} CPU, {largest.get('memory')} MB)"
               if largest else "")
    tagged = f" with tags {', '.join(wanted)}" if wanted else ""
    raise CloudError(f"no compute offering{tagged} fits cpu = {cpu}, ram = {ram} MB{biggest}")


def disk_offering_for(ctx: CallContext, size_mb: int) -> str:
    wanted = ctx.config.cpi.disk_offering_tags
    size_gb = math.ceil(size_mb / 1024)
    offerings = _filter(ctx.client.list("listDiskOfferings"), wanted)
    fixed = [o for o in offerings if not o.get("iscustomized") and int(o.get("disksize") or 0) >= size_gb]
    if fixed:
        return str(min(fixed, key=lambda o: (int(o["disksize"]), str(o.get("name"))))["name"])
    custom = sorted((o for o in offerings if o.get("iscustomized")), key=lambda o: str(o.get("name")))
    if custom:
        return str(custom[0]["name"])
    tagged = f" with tags {', '.join(wanted)}" if wanted else ""
    raise CloudError(f"no disk offering{tagged} fits an ephemeral disk of {size_mb} MB ({size_gb} GB)")


def cloud_properties_for(ctx: CallContext, desired: dict[str, Any]) -> dict[str, Any]:
    """Every key ``create_vm`` needs for the size: ``compute_offering`` (+cpu/ram), ``disk``,
    ``ephemeral_disk_offering``."""
    if not isinstance(desired, dict):
        raise CpiError("calculate_vm_cloud_properties expects {cpu, ram, ephemeral_disk_size}")
    cpu, ram = _int(desired, "cpu", 1), _int(desired, "ram", 1)
    disk = _int(desired, "ephemeral_disk_size", 0)
    result = compute_offering_for(ctx, cpu, ram)
    if disk > 0:
        result["disk"] = disk
        result["ephemeral_disk_offering"] = disk_offering_for(ctx, disk)
    return result
