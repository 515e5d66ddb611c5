"""resizeVolume and changeOfferingForVolume, after ``VolumeApiServiceImpl`` (4.19;
before 4.17 resizeVolume's own offering rules, versions.RULES["resize_volume_417"]).

Both are plain async commands: only parameter processing (missing/unknown ids) answers at once;
every business rule runs inside the job, so a refusal is a failed job (``jobstatus`` 2) carrying
the server's error code. Sizes arrive in GB and are stored in bytes. A volume still ``Allocated``
(never attached) is only updated in the database; a materialised one must be ``Ready``, must have
no snapshot still on primary storage, and on XenServer must not sit on a running VM.
Error texts are the server's where the code was read; "modelled" marks the rest.
"""

from __future__ import annotations

from typing import Any

from .. import limits, views
from .. import models as m
from ..errors import ApiError, param_error, runtime_error
from ..params import Params
from . import Ctx, command

GB = 2**30
MIN_GB, MAX_GB = 1, 1024  # custom.diskoffering.size.min/max (listCapabilities customdiskoffering*size)


def _volume(ctx: Ctx, p: Params) -> m.Volume:
    return ctx.entity(p, "id", "volume", required=True, not_found=f"Unable to find volume with ID: {p.str('id')}")


def _custom_size(size_gb: int | None) -> int:
    """``validateCustomDiskOfferingSizeRange`` plus the GiB -> bytes shift."""
    if size_gb is None:
        raise param_error("The new disk offering requires that a size be specified.")
    if size_gb < MIN_GB or size_gb > MAX_GB:
        raise param_error(f"Volume size: {size_gb} GB is out of allowed range. Max: {MAX_GB} Min:{MIN_GB}")
    return size_gb * GB


def _offering_size(offering: m.DiskOffering, size_gb: int | None) -> int:
    """Size a new offering gives: a fixed one its own (a ``size`` given is ignored), a custom one ``size``."""
    if not offering.customized:
        return offering.disksize * GB
    return _custom_size(size_gb)


def _vm_of(ctx: Ctx, vol: m.Volume) -> m.VirtualMachine | None:
    return ctx.st.get("vm", vol.vm_id, True) if vol.vm_id else None


def _check_root_stopped(ctx: Ctx, vol: m.Volume, new_size: int) -> None:
    vm = _vm_of(ctx, vol)
    if vm is not None and vol.type == "ROOT" and new_size != vol.size and vm.state != "Stopped":
        raise param_error(f"Cannot resize ROOT volume [{vol.name}] when VM is not on Stopped State. "
                          f"VM i-2-{vm.num}-VM is in state {vm.state}")


def _check_size_change(ctx: Ctx, vol: m.Volume, new_size: int, shrink_ok: bool) -> None:
    """``validateVolumeResizeWithSize``: shrink needs ``shrinkok``; growing checks primary storage."""
    if new_size == vol.size:
        return
    if new_size < vol.size and not shrink_ok:
        # Sic: the server's text has no space after "volume.".
        raise param_error(f"Going from existing size of {vol.size} to size of {new_size} would shrink the volume."
                          "Need to sign off by supplying the shrinkok parameter with value of true.")
    if new_size > vol.size:
        limits.check(ctx.st, "primary_storage", new_size - vol.size)


def _check_materialised(ctx: Ctx, vol: m.Volume) -> None:
    """Rules for a volume that exists on primary storage (not just ``Allocated``)."""
    if any(s.volume_id == vol.id and s.state == "CreatedOnPrimary" for s in ctx.st.live("snapshot")):
        raise runtime_error("There is/are unbacked up snapshot(s) on this volume, resize volume is not permitted, "
                            "please try again later.")
    if vol.state not in ("Ready", "Allocated"):
        raise param_error(f"Volume should be in ready or allocated state before attempting a resize. Volume {vol.id} "
                          f"is in state {vol.state}.")


def _orchestrate(ctx: Ctx, vol: m.Volume, new_size: int) -> None:
    """``orchestrateResizeVolume``'s hypervisor rule: XenServer resizes only offline."""
    vm = _vm_of(ctx, vol)
    if vm is not None and new_size != vol.size and vol.hypervisor == "XenServer" and vm.state != "Stopped":
        raise param_error("The VM must be stopped or the disk detached in order to resize with the XenServer "
                          "Hypervisor.")


def _tags(offering: m.DiskOffering | None) -> set[str]:
    return {t.strip() for t in (offering.tags if offering else "").split(",") if t.strip()}


def _check_new_offering(ctx: Ctx, vol: m.Volume, new: m.DiskOffering, new_size: int) -> None:
    """VolumeApiServiceImpl (4.17+): validateVolumeResizeWithNewDiskOfferingAndLoad's size rule, then
    checkIfVolumeCanResizeWithNewDiskOffering's: same size strictness, and - with the zone setting
    match.storage.pool.tags.with.disk.offering (default true) - the new offering must carry every
    storage tag of the current one (doesNewDiskOfferingHasTagsAsOldDiskOffering). All in the job.
    The "already having disk offering" case is checked by the caller (changeOfferingForVolume)."""
    current = ctx.st.get("diskoffering", vol.disk_offering_id, True) if vol.disk_offering_id else None
    if current is None:
        return
    if current.strict and new_size != vol.size:
        raise param_error(f"Resize volume for {vol.name} is not allowed since disk offering's size is fixed")
    if current.strict != new.strict:
        raise param_error("Disk offering size strictness does not match with new disk offering.")
    old_tags, new_tags = _tags(current), _tags(new)
    if old_tags and not old_tags <= new_tags:
        # sic: the server names the existing offering here
        raise param_error(f"Selected disk offering {current.id} does not have tags as in existing disk offering of "
                          f"volume {vol.id}")


def _apply(vol: m.Volume, new_size: int, offering: m.DiskOffering | None) -> None:
    vol.size = new_size
    if offering is not None:
        vol.disk_offering_id = offering.id


@command("resizeVolume", is_async=True)
def resize_volume(ctx: Ctx, p: Params) -> dict[str, Any]:
    vol = _volume(ctx, p)
    new_offering: m.DiskOffering | None = ctx.entity(p, "diskofferingid", "diskoffering")
    size_gb = p.int("size")
    shrink_ok = p.bool("shrinkok", False)

    def run() -> dict[str, Any]:
        if vol.removed:
            raise param_error("No such volume")
        _check_materialised(ctx, vol)
        before_417 = not ctx.profile.has("resize_volume_417")
        if new_offering is None:
            current = ctx.st.get("diskoffering", vol.disk_offering_id, True) if vol.disk_offering_id else None
            if size_gb is not None and current is not None and current.customized:
                new_size = _custom_size(size_gb)
            elif size_gb is not None and before_417 and vol.type != "ROOT":
                # VolumeApiServiceImpl.resizeVolume before 4.17 (4.13-4.16 read)
                raise param_error("To change a volume's size without providing a new disk offering, its current disk "
                                  "offering must be customizable or it must be a root volume (if providing a disk "
                                  "offering, make sure it is different from the current disk offering).")
            else:
                # 4.17+: a size without a new offering is accepted for fixed offerings too (no strictness modelled).
                new_size = size_gb * GB if size_gb is not None else vol.size
        else:
            if before_417 and not new_offering.customized and size_gb is not None:
                # resizeVolume before 4.17 (sic: "cannnot"); 4.17+ ignores the size instead.
                raise param_error("You cannnot pass in a custom disk size to a non-custom disk offering.")
            new_size = _offering_size(new_offering, size_gb)
            if not before_417:
                _check_new_offering(ctx, vol, new_offering, new_size)
            _check_root_stopped(ctx, vol, new_size)
        _check_size_change(ctx, vol, new_size, shrink_ok)
        if vol.state != "Allocated":
            _orchestrate(ctx, vol, new_size)
        _apply(vol, new_size, new_offering)
        return {"volume": views.volume_view(ctx.st, vol)}

    return {"jobid": ctx.submit(run, None, "Volume", vol.id).id}


@command("changeOfferingForVolume", is_async=True)
def change_offering_for_volume(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Since 4.17. A volume of a fixed offering may move to any offering; size follows the new one."""
    vol = _volume(ctx, p)
    offering: m.DiskOffering = ctx.entity(p, "diskofferingid", "diskoffering", required=True)
    size_gb = p.int("size")
    shrink_ok = p.bool("shrinkok", False)

    def run() -> dict[str, Any]:
        if vol.removed:
            raise param_error("No such volume")
        new_size = _offering_size(offering, size_gb)
        if vol.disk_offering_id == offering.id and (not offering.customized or new_size == vol.size):
            # modelled on VolumeVO.toString()
            raise param_error(f'Volume {{"id":{vol.num},"name":"{vol.name}","uuid":"{vol.id}","volumeType":'
                              f'"{vol.type}"}} is already having disk offering {offering.id}')
        _check_new_offering(ctx, vol, offering, new_size)
        _check_root_stopped(ctx, vol, new_size)
        if new_size < vol.size and vol.hypervisor == "KVM" and vol.state != "Allocated":
            raise param_error("Unable to shrink volumes of type QCOW2")
        _check_size_change(ctx, vol, new_size, shrink_ok)
        if vol.state == "Allocated" or new_size == vol.size:
            _apply(vol, new_size, offering)
            return {"volume": views.volume_view(ctx.st, vol)}
        _check_materialised(ctx, vol)
        if vol.hypervisor == "VMware" and new_size < vol.size:
            raise param_error(f"VMware doesn't support shrinking volume from larger size: {vol.size} GB to a smaller "
                              f"size: {new_size} GB")
        try:
            _orchestrate(ctx, vol, new_size)
        except ApiError:
            # changeDiskOfferingForVolumeInternal hides the resize's own reason behind this text.
            raise runtime_error(f"Volume change offering operation failed for volume ID: {vol.id} due to resize "
                                "volume operation failed") from None
        _apply(vol, new_size, offering)
        return {"volume": views.volume_view(ctx.st, vol)}

    return {"jobid": ctx.submit(run, None, "Volume", vol.id).id}
