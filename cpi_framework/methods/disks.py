"""Persistent disks: create/delete/has/attach/detach/get_disks/set_disk_metadata/resize/update.

A BOSH persistent disk is a CloudStack DATADISK volume tagged ``bosh-role=persistent-disk``;
its CID is the volume UUID (``cpi-disk-…`` names of the earlier CPIs still resolve). Behaviour and the
choices made where the contract allows several answers are in ``docs/disks.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cpi_framework.errors import CloudError, DiskNotAttached, NotSupported
from cpi_framework.services import catalog, volumes
from cpi_framework.services.tags import replace_tags, stringify_metadata, tags_of

if TYPE_CHECKING:
    from cpi_framework.context import CallContext
    from cpi_framework.types import DiskHint


def create_disk(ctx: CallContext, size: int, cloud_properties: dict, vm_cid: str | None = None) -> str:
    """A new volume of at least ``size`` MiB, in the zone of ``vm_cid`` when that VM exists."""
    volumes.check_size_mb(size)
    disk_type = volumes.load_disk_type(ctx, cloud_properties)
    offering = volumes.offering_for(ctx, disk_type)
    volume = volumes.create_volume(
        ctx,
        name=volumes.new_volume_name("persistent-disk"),
        zone_id=_placement_zone(ctx, vm_cid),
        size_mb=size,
        offering=offering,
        role="persistent-disk",
    )
    return str(volume["id"])


def _placement_zone(ctx: CallContext, vm_cid: str | None) -> str:
    """The VM hint's zone; the default zone without a hint (``null`` or ``""``) or when the VM is gone."""
    if vm_cid:
        from cpi_framework.services import vms

        vm = vms.find_vm(ctx, vm_cid)
        if vm is not None:
            return vms.vm_zone_id(vm)
        ctx.log.warning("create_disk: VM hint '%s' not found; using the default zone", vm_cid)
    return str(catalog.zone(ctx)["id"])


def delete_disk(ctx: CallContext, disk_cid: str) -> None:
    """Delete a detached disk; DiskNotFound when unknown; an attached disk is refused, never forced.

    A volume still attached to a VM that is being destroyed (CloudStack keeps destroyed VMs
    until expunge) is detached first: BOSH already deleted that VM.
    """
    volume = volumes.get_volume(ctx, disk_cid)
    if volume.get("virtualmachineid"):
        if volume.get("vmstate") in ("Destroyed", "Expunging"):
            volumes.detach_volume(ctx, volume)
        else:
            raise CloudError(
                f"Disk '{disk_cid}' is attached to VM '{volume.get('vmname') or volume['virtualmachineid']}' "
                f"({volume.get('vmstate')}); detach it before deleting it"
            )
    volumes.delete_volume(ctx, volume)


def has_disk(ctx: CallContext, disk_cid: str) -> bool:
    return volumes.find_volume(ctx, disk_cid) is not None


def attach_disk(ctx: CallContext, vm_cid: str, disk_cid: str) -> DiskHint | None:
    """Attach and answer the plugin's disk hint (v2+, null for v1); a registry-mode VM's registry entry is updated."""
    from cpi_framework.services import vms

    vm = vms.get_vm(ctx, vm_cid)
    volume = volumes.get_volume(ctx, disk_cid)
    attached = volumes.attach_volume(ctx, volume, vm)
    hint = ctx.plugins.disk_hint(attached, vm, "persistent")
    ctx.log.info("attached disk %s to VM %s as %s", disk_cid, vm_cid, hint)
    _update_registry(ctx, vm_cid, disk_cid, hint)
    return hint if ctx.api_version >= 2 else None


def _update_registry(ctx: CallContext, vm_cid: str, disk_cid: str, hint: DiskHint | None) -> None:
    """Stemcells below api_version 2 read disk hints from the registry, whatever the request's version."""
    from cpi_framework.services import registry

    if registry.registry_mode(ctx):
        registry.update_persistent_disk(ctx, vm_cid, disk_cid, hint)


def detach_disk(ctx: CallContext, vm_cid: str, disk_cid: str) -> None:
    """Detach; a missing disk, or one attached to no VM, is success; attached to another VM is DiskNotAttached.

    The director tolerates DiskNotAttached for inactive disks and re-raises it for active ones,
    which is right for a disk that sits on another VM: that is an inconsistency to surface,
    and detaching it from that other VM would be wrong. DiskNotFound is never raised here.
    """
    volume = volumes.find_volume(ctx, disk_cid)
    if volume is None:
        ctx.log.warning("detach_disk: disk '%s' not found; nothing to detach", disk_cid)
        return
    holder = volume.get("virtualmachineid")
    if not holder:
        ctx.log.warning("detach_disk: disk '%s' is not attached; nothing to detach", disk_cid)
        return
    if vm_cid not in (holder, volume.get("vmname")):
        raise DiskNotAttached(
            f"Disk '{disk_cid}' is not attached to VM '{vm_cid}' but to VM '{volume.get('vmname') or holder}' "
            f"({holder})",
            ok_to_retry=False,
        )
    volumes.detach_volume(ctx, volume)
    _update_registry(ctx, vm_cid, disk_cid, None)


def get_disks(ctx: CallContext, vm_cid: str) -> list:
    """CIDs of the persistent disks attached to the VM now; never its ephemeral disk; ``[]`` when none."""
    from cpi_framework.services import vms

    vm = vms.get_vm(ctx, vm_cid)
    return [
        volumes.cid_of(v)
        for v in volumes.volumes_of_vm(ctx, str(vm["id"]), type="DATADISK")
        if volumes.role_of(v) != "ephemeral-disk" and not vms.is_ephemeral_of(v, vm)
    ]


def set_disk_metadata(ctx: CallContext, disk_cid: str, metadata: dict) -> None:
    """Make the volume's tags equal the metadata (values stringified); ownership tags are kept."""
    volume = volumes.get_volume(ctx, disk_cid)
    replace_tags(ctx, "Volume", str(volume["id"]), stringify_metadata(metadata), current=tags_of(volume))


# -- resize / update ---------------------------------------------------------------------------


def resize_disk(ctx: CallContext, disk_cid: str, new_size: int) -> None:
    """Grow a detached disk to hold ``new_size`` MiB; same size is a no-op, smaller NotSupported.

    A custom-size volume is resized in place; a fixed-offering volume moves to
    ``cpi.default_disk_offering`` when that is a custom-size offering, else NotSupported
    (the director then copies the data to a new disk).
    """
    volumes.check_size_mb(new_size, "new size")
    volume = volumes.get_volume(ctx, disk_cid)
    target_gb = _target_gb(disk_cid, volume, new_size)
    if target_gb is None:
        return
    _require_detached(volume, disk_cid, "resizing")
    current = _offering_of(ctx, volume)
    if current is None or volumes.is_custom(current):
        _resize(ctx, volume, target_gb, None)
        return
    custom = _default_custom_offering(ctx)
    if custom is None:
        raise NotSupported(
            f"Disk '{disk_cid}' uses the fixed-size disk offering '{current.get('name')}' and "
            "cpi.default_disk_offering is not a custom-size offering to move it to"
        )
    _resize(ctx, volume, target_gb, custom)


def update_disk(ctx: CallContext, disk_cid: str, new_size: int, cloud_properties: dict) -> str:
    """Make the disk match (size, cloud_properties) in place; returns the same CID.

    Same offering: a size change is a resize (fixed offerings that already hold the size are
    a no-op). Another offering: CloudStack's ``changeOfferingForVolume`` (4.17+), on older clouds
    ``resizeVolume`` with the new offering; where CloudStack refuses, NotSupported, so the
    director migrates the data to a new disk.
    """
    volumes.check_size_mb(new_size, "new size")
    wanted = catalog.disk_offering(ctx, volumes.offering_for(ctx, volumes.load_disk_type(ctx, cloud_properties)))
    volume = volumes.get_volume(ctx, disk_cid)
    if wanted["id"] == volume.get("diskofferingid"):
        if volumes.is_custom(wanted):
            target_gb = _target_gb(disk_cid, volume, new_size)
            if target_gb is not None:
                _require_detached(volume, disk_cid, "updating")
                _resize(ctx, volume, target_gb, None)
        else:
            volumes.size_params(wanted, new_size)  # raises when the fixed size cannot hold new_size
        return disk_cid
    target_gb = volumes.gb_for(new_size) if volumes.is_custom(wanted) else int(wanted.get("disksize") or 0)
    volumes.size_params(wanted, new_size)
    if target_gb < volumes.volume_gb(volume):
        raise NotSupported(
            f"Disk '{disk_cid}' is {volumes.volume_gb(volume)} GB; offering '{wanted.get('name')}' at "
            f"{new_size} MiB would shrink it"
        )
    _require_detached(volume, disk_cid, "updating")
    _change_offering(ctx, volume, wanted, target_gb)
    return disk_cid


def _target_gb(disk_cid: str, volume: dict[str, Any], new_size: int) -> int | None:
    """Whole GB for ``new_size``; None when the disk is already that size; NotSupported to shrink."""
    target_gb, current_gb = volumes.gb_for(new_size), volumes.volume_gb(volume)
    if target_gb == current_gb:
        return None
    if target_gb < current_gb:
        raise NotSupported(
            f"Cannot shrink disk '{disk_cid}' from {current_gb} GB to {new_size} MiB ({target_gb} GB)"
        )
    return target_gb


def _require_detached(volume: dict[str, Any], disk_cid: str, doing: str) -> None:
    if volume.get("virtualmachineid"):
        raise CloudError(
            f"Disk '{disk_cid}' is attached to VM '{volume.get('vmname') or volume['virtualmachineid']}'; "
            f"detach it before {doing} it"
        )


def _offering_of(ctx: CallContext, volume: dict[str, Any]) -> dict[str, Any] | None:
    offering_id = volume.get("diskofferingid")
    return catalog.disk_offering(ctx, str(offering_id)) if offering_id else None


def _default_custom_offering(ctx: CallContext) -> dict[str, Any] | None:
    name = ctx.config.cpi.default_disk_offering
    if not name:
        return None
    offering = catalog.disk_offering(ctx, name)
    return offering if volumes.is_custom(offering) else None


def _resize(ctx: CallContext, volume: dict[str, Any], target_gb: int, offering: dict[str, Any] | None) -> None:
    from cpi_framework.cloudstack import AsyncJobFailed, CloudStackError

    params: dict[str, Any] = {"id": volume["id"], "size": target_gb}
    if offering is not None:
        params["diskofferingid"] = offering["id"]
    try:
        result = ctx.client.call_async("resizeVolume", params, timeout=ctx.timeout("volume"), operation="volume")
    except AsyncJobFailed as exc:
        # Across offerings the server refuses inside the job what the offerings' listings only hint at
        # (VolumeApiServiceImpl 4.17+: different size strictness, storage tags the new offering lacks
        # with match.storage.pool.tags.with.disk.offering on). Left unchanged, the director can still
        # copy the data to a new disk: NotSupported, never a dead end.
        if offering is not None and _unchanged(ctx, volume):
            raise NotSupported(
                f"CloudStack refused to move disk '{volume['id']}' to offering '{offering.get('name')}' while "
                f"resizing it ({exc.errortext}); the data must be migrated to a new disk"
            ) from exc
        raise CloudError(f"Resizing disk '{volume['id']}' to {target_gb} GB failed: {exc}") from exc
    except CloudStackError as exc:
        raise CloudError(f"Resizing disk '{volume['id']}' to {target_gb} GB failed: {exc}") from exc
    resized = result.get("volume") or volumes.get_volume(ctx, str(volume["id"]))
    if volumes.volume_gb(resized) < target_gb:
        raise CloudError(
            f"resizeVolume finished but disk '{volume['id']}' is {volumes.volume_gb(resized)} GB, not {target_gb} GB"
        )
    ctx.log.info("resized volume %s to %d GB", volume["id"], target_gb)


def _unchanged(ctx: CallContext, volume: dict[str, Any]) -> bool:
    """Whether the disk still has the offering and size it had before a refused change."""
    current = volumes.get_volume(ctx, str(volume["id"]))
    return current.get("diskofferingid") == volume.get("diskofferingid") and current.get("size") == volume.get("size")


def _change_offering(ctx: CallContext, volume: dict[str, Any], offering: dict[str, Any], target_gb: int) -> None:
    """``changeOfferingForVolume`` (CloudStack 4.17+); on older clouds ``resizeVolume`` with the new
    ``diskofferingid``, their route for the same change (:mod:`cpi_framework.services.versions`)."""
    from cpi_framework.cloudstack import ApiError, AsyncJobFailed, CloudStackError
    from cpi_framework.errors import is_transient
    from cpi_framework.services import versions

    params: dict[str, Any] = {"id": volume["id"], "diskofferingid": offering["id"]}
    if volumes.is_custom(offering):
        params["size"] = target_gb  # before 4.17 resizeVolume refuses a size with a fixed offering
    command = "changeOfferingForVolume"
    if versions.offers(ctx, command) is False:
        command = "resizeVolume"
    try:
        try:
            ctx.client.call_async(command, params, timeout=ctx.timeout("volume"), operation="volume")
        except ApiError as exc:
            if command != "changeOfferingForVolume" or not versions.missing(ctx, command, exc):
                raise
            command = "resizeVolume"
            ctx.client.call_async(command, params, timeout=ctx.timeout("volume"), operation="volume")
    except ApiError as exc:
        if is_transient(exc):
            raise CloudError(f"Changing the offering of disk '{volume['id']}' failed: {exc}", ok_to_retry=True) from exc
        # Refused before anything ran: unknown command (CloudStack < 4.17) or a change it does not allow.
        raise NotSupported(
            f"CloudStack cannot move disk '{volume['id']}' to offering '{offering.get('name')}' in place "
            f"({exc.errortext}); the data must be migrated to a new disk"
        ) from exc
    except AsyncJobFailed as exc:
        if _unchanged(ctx, volume):
            raise NotSupported(
                f"Changing the offering of disk '{volume['id']}' failed and left it unchanged ({exc.errortext}); "
                "the data must be migrated to a new disk"
            ) from exc
        raise CloudError(f"Changing the offering of disk '{volume['id']}' failed part-way: {exc}") from exc
    except CloudStackError as exc:  # no answer, or still running: the disk may yet change, so no migration
        raise CloudError(f"Changing the offering of disk '{volume['id']}' did not complete: {exc}") from exc
    ctx.log.info("moved volume %s to offering %s (%d GB) with %s", volume["id"], offering.get("name"), target_gb,
                 command)
