"""Where a new VM goes: its zone (AZ property, default zone, or its persistent disks' zone) and affinity groups."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cpi_framework.errors import CloudError
from cpi_framework.services import catalog

if TYPE_CHECKING:
    from cpi_framework.context import CallContext


def resolve_zone(
    ctx: CallContext, zone_property: str | None, disk_cids: list[str] | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The zone for a VM and the persistent disks it must be able to attach.

    With ``disk_cids`` the VM goes where the disks are (a volume attaches only within its zone):
    disks spanning zones, or an AZ ``zone`` property naming another zone, are errors naming
    both, rather than a VM the director can never attach its disk to.
    """
    disks: list[dict[str, Any]] = []
    if disk_cids:
        from cpi_framework.services import volumes

        disks = [volumes.get_volume(ctx, cid) for cid in disk_cids]
    disk_zones = {str(d.get("zoneid")): str(d.get("zonename") or d.get("zoneid")) for d in disks}
    if len(disk_zones) > 1:
        spread = ", ".join(f"{d.get('id')} in {d.get('zonename') or d.get('zoneid')}" for d in disks)
        raise CloudError(f"disk_cids span several zones ({spread}); a VM can attach disks of one zone only")
    if zone_property:
        zone = catalog.zone(ctx, zone_property)
        if disk_zones and zone["id"] not in disk_zones:
            raise CloudError(
                f"cloud_properties.zone = '{zone_property}' but the VM's persistent disks are in zone "
                f"'{next(iter(disk_zones.values()))}'"
            )
        return zone, disks
    if disk_zones:
        zone_id = next(iter(disk_zones))
        return catalog.zone(ctx, zone_id), disks
    return catalog.zone(ctx), disks


def affinity_group_ids(
    ctx: CallContext, vm_type: dict[str, Any], env: dict[str, Any] | None, created: list[dict[str, Any]]
) -> list[str]:
    """Ids of the VM's affinity groups, found or created; the created ones are appended to ``created``.

    A named group (``affinity_group``, type ``affinity_group_type``) and, with
    ``cpi.anti_affinity_per_instance_group``, a host anti-affinity group per instance group
    named ``<director uuid>-<env.bosh.group>`` (the Go CPI's scheme).
    """
    wanted: list[tuple[str, str]] = []
    if vm_type.get("affinity_group"):
        wanted.append((vm_type["affinity_group"], vm_type.get("affinity_group_type") or "host anti-affinity"))
    group = ((env or {}).get("bosh") or {}).get("group") if isinstance((env or {}).get("bosh"), dict) else None
    if ctx.config.cpi.anti_affinity_per_instance_group and isinstance(group, str) and group:
        prefix = ctx.director_uuid or "bosh"
        wanted.append((f"{prefix}-{group}"[:255], "host anti-affinity"))
    return [_find_or_create(ctx, name, kind, created)["id"] for name, kind in wanted]


def _find_or_create(ctx: CallContext, name: str, kind: str, created: list[dict[str, Any]]) -> dict[str, Any]:
    from cpi_framework.cloudstack import CloudStackError

    existing = ctx.client.find_by_name("listAffinityGroups", name)
    if existing:
        return existing[0]
    try:
        result = ctx.client.call_async("createAffinityGroup", {"name": name, "type": kind},
                                       timeout=ctx.timeout("default"), operation="create_vm")
    except CloudStackError:
        existing = ctx.client.find_by_name("listAffinityGroups", name)  # a parallel create_vm won the race
        if existing:
            return existing[0]
        raise
    group = result.get("affinitygroup", result)
    created.append(group)
    ctx.log.info("created affinity group '%s' (%s)", name, kind)
    return group


def delete_affinity_groups(ctx: CallContext, groups: list[dict[str, Any]]) -> None:
    """Remove groups this call created (cleanup after a failed create_vm)."""
    for group in groups:
        ctx.client.call_async("deleteAffinityGroup", {"id": group["id"]}, timeout=ctx.timeout("default"),
                              operation="create_vm")
