"""Volumes and snapshots."""

from __future__ import annotations

import time
import uuid
from typing import Any

from .. import disk_bus, limits, views
from .. import models as m
from ..errors import ApiError, param_error, runtime_error
from ..params import Params
from ..state import now_str
from . import Ctx, command
from .tags import check_tag_values

CDROM_DEVICE_ID = 3  # reserved on every hypervisor
GB = 2**30


def _volume(ctx: Ctx, p: Params, name: str = "id", required: bool = True) -> m.Volume:
    return ctx.entity(p, name, "volume", required=required,
                      not_found=f"Unable to find volume with ID: {p.str(name)}")


def next_device_id(ctx: Ctx, vm: m.VirtualMachine, zone: m.Zone, requested: int | None) -> int:
    """``getDeviceId``: 1,2,4,... up to ``max_data_volumes + 1``; 3 is the CD-ROM."""
    max_device_id = zone.max_data_volumes + 1
    used = {v.deviceid for v in ctx.st.live("volume") if v.vm_id == vm.id}
    if requested is not None:
        if requested > max_device_id or requested in (0, CDROM_DEVICE_ID) or requested < 0:
            raise runtime_error(f"deviceId should be 0,1,2,4-{max_device_id}")
        if requested in used:
            raise runtime_error(f"deviceId {requested} is used by vm {vm.id}")
        return requested
    for candidate in range(1, max_device_id + 1):
        if candidate != CDROM_DEVICE_ID and candidate not in used:
            return candidate
    raise runtime_error(f"deviceId should be 0,1,2,4-{max_device_id}")


def attach(ctx: Ctx, vol: m.Volume, vm: m.VirtualMachine, requested: int | None) -> None:
    """``VolumeApiServiceImpl.attachVolumeToVM`` checks, then materialise and plug in."""
    st = ctx.st
    if vm.removed or vm.state not in ("Running", "Stopped"):
        raise param_error("Please specify a VM that is either running or stopped.")
    if vol.removed:
        raise param_error(f"Unable to find volume with ID: {vol.id}")
    if vol.vm_id is not None:
        raise param_error("Please specify a volume that is not attached to any VM.")
    if vol.zone_id != vm.zone_id:
        raise param_error("Please specify a VM that is in the same zone as the volume.")
    if vol.state not in ("Allocated", "Ready", "Uploaded"):
        raise param_error("Volume state must be in Allocated, Ready or in Uploaded state")
    zone = st.get("zone", vm.zone_id, True)
    data = [v for v in st.live("volume") if v.vm_id == vm.id and v.type == "DATADISK"]
    if len(data) >= zone.max_data_volumes:
        raise param_error(f"The specified VM already has the maximum number of data disks "
                          f"({zone.max_data_volumes}) attached. Please specify another VM.")
    vol.deviceid = next_device_id(ctx, vm, zone, requested)
    vol.vm_id = vm.id
    # An Allocated volume is created on primary storage at its first attach.
    vol.state, vol.hypervisor, vol.storage = "Ready", zone.hypervisor, f"Primary-{zone.name}"
    vol.attached = now_str()
    # Bus, SCSI unit (lowest free, 7 is the controller) and, on a running VM, the hot-plug name.
    disk_bus.hot_plug(st, vm, zone, vol)


@command("createVolume", is_async=True)
def create_volume(ctx: Ctx, p: Params) -> dict[str, Any]:
    st = ctx.st
    offering = ctx.entity(p, "diskofferingid", "diskoffering")
    snapshot = ctx.entity(p, "snapshotid", "snapshot")
    if offering is None and snapshot is None:
        raise param_error("Either disk Offering Id or snapshot Id must be passed whilst creating volume")
    size_gb = p.int("size")
    if snapshot is not None:
        src = st.get("volume", snapshot.volume_id, True)
        zone = st.get("zone", src.zone_id, True)
        size = snapshot.size
        offering = offering or (st.get("diskoffering", src.disk_offering_id, True) if src.disk_offering_id else None)
    else:
        zone = ctx.entity(p, "zoneid", "zone", required=True)
        if offering.customized:
            if size_gb is None:
                raise param_error("This disk offering requires a custom size specified")
            if size_gb < 1 or size_gb > 1024:
                raise param_error(f"Volume size: {size_gb} GB is out of allowed range. Max: 1024 Min:1")
            size = size_gb * GB
        else:
            if size_gb is not None and size_gb != offering.disksize:
                raise param_error("This disk offering does not allow custom size")
            size = offering.disksize * GB
    vm = ctx.entity(p, "virtualmachineid", "vm")
    # VolumeApiServiceImpl.allocVolume, in the create phase of this create-style command: an immediate 535.
    limits.check(st, "volume")
    limits.check(st, "primary_storage", size)
    num = st.next_num()
    vol = st.add("volume", m.Volume(str(uuid.uuid4()), num, p.str("name") or f"DATA-{num}", zone.id, "DATADISK",
                                    size, "Allocated", now_str(),
                                    disk_offering_id=offering.id if offering else None))

    def run() -> dict[str, Any]:
        if vm is not None:
            attach(ctx, vol, vm, None)
        return {"volume": views.volume_view(st, vol)}

    def on_fail(_err: ApiError) -> None:
        vol.removed, vol.state = True, "Expunged"

    job = ctx.submit(run, on_fail, "Volume", vol.id)
    return {"id": vol.id, "jobid": job.id}


@command("attachVolume", is_async=True)
def attach_volume(ctx: Ctx, p: Params) -> dict[str, Any]:
    vol = _volume(ctx, p)
    vm = ctx.entity(p, "virtualmachineid", "vm", required=True)
    requested = p.int("deviceid")

    def run() -> dict[str, Any]:
        attach(ctx, vol, vm, requested)
        return {"volume": views.volume_view(ctx.st, vol)}

    return {"jobid": ctx.submit(run, None, "Volume", vol.id).id}


@command("detachVolume", is_async=True)
def detach_volume(ctx: Ctx, p: Params) -> dict[str, Any]:
    if p.str("id"):
        vol = _volume(ctx, p)
    else:
        vm = ctx.entity(p, "virtualmachineid", "vm")
        dev = p.int("deviceid")
        if vm is None or dev is None:
            raise param_error("Please provide either a volume id, or a tuple(device id, instance id)")
        vol = next((v for v in ctx.st.live("volume") if v.vm_id == vm.id and v.deviceid == dev), None)
        if vol is None:
            raise param_error(f"Unable to find volume with device id {dev} on vm {vm.id}")

    def run() -> dict[str, Any]:
        if vol.removed:
            raise param_error(f"Unable to find volume with ID: {vol.id}")
        if vol.vm_id is None:
            raise param_error("The specified volume is not attached to a VM.")
        vm = ctx.st.get("vm", vol.vm_id, True)
        if vm.state not in ("Running", "Stopped", "Destroyed"):
            raise param_error("Please specify a VM that is either running or stopped.")
        if vol.type == "ROOT" and vm.state != "Stopped":
            # validateRootVolumeDetachAttach: Xen/KVM/VMware detach a ROOT volume of a stopped VM only
            # (the server's condition rules Destroyed out despite its text).
            raise param_error("Root volume detach can happen only when vm is in states: Stopped or Destroyed")
        vm.guest_disk_names.pop(vol.id, None)
        vol.vm_id, vol.deviceid, vol.attached, vol.scsi_unit, vol.bus = None, None, None, None, None
        return {"volume": views.volume_view(ctx.st, vol)}

    return {"jobid": ctx.submit(run, None, "Volume", vol.id).id}


@command("deleteVolume")
def delete_volume(ctx: Ctx, p: Params) -> dict[str, Any]:
    vol = _volume(ctx, p)
    if vol.vm_id is not None:
        raise param_error("Please specify a volume that is not attached to any VM.")
    if vol.type == "ROOT":
        raise param_error("Please specify a data volume; a ROOT volume cannot be deleted.")
    vol.state, vol.removed = "Expunged", True
    ctx.st.tags = [t for t in ctx.st.tags if t.resource_id != vol.id]
    return {"success": True}


@command("listVolumes")
def list_volumes(ctx: Ctx, p: Params) -> dict[str, Any]:
    vols = ctx.st.live("volume")
    given, obj = ctx.id_filter(p, "id", "volume")
    if given:
        vols = [v for v in vols if obj is not None and v.id == obj.id]
    ids = p.list("ids")
    if ids:
        vols = [v for v in vols if v.id in ids]
    for param, kind, attr in (("virtualmachineid", "vm", "vm_id"), ("zoneid", "zone", "zone_id"),
                              ("diskofferingid", "diskoffering", "disk_offering_id")):
        g, o = ctx.id_filter(p, param, kind)
        if g:
            vols = [v for v in vols if o is not None and getattr(v, attr) == o.id]
    vtype = p.str("type")
    if vtype:
        vols = [v for v in vols if v.type.lower() == vtype.lower()]
    state = p.str("state")
    if state:
        vols = [v for v in vols if v.state.lower() == state.lower()]
    items = [views.volume_view(ctx.st, v, ctx.jobs.pending_for(v.id)) for v in vols]
    return ctx.listing(p, items, "volume")


@command("createSnapshot", is_async=True)
def create_snapshot(ctx: Ctx, p: Params) -> dict[str, Any]:
    st = ctx.st
    vol = _volume(ctx, p, "volumeid")
    if vol.state != "Ready":
        raise param_error(f"VolumeId: {vol.id} is not in Ready state but {vol.state}. Cannot take snapshot.")
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    vm = st.get("vm", vol.vm_id, True) if vol.vm_id else None
    default_name = f"i-2-{vm.num}-VM_{vol.name}_{stamp}" if vm else f"{vol.name}_{stamp}"
    snap = st.add("snapshot", m.Snapshot(str(uuid.uuid4()), p.str("name") or default_name, vol.id,
                                         "CreatedOnPrimary", now_str(), vol.size))
    tags = p.map("tags")

    def run() -> dict[str, Any]:
        # Tags given to createSnapshot go through TaggedResourceManagerImpl.createTags as well
        # (same empty-value rule); modelled in the job.
        check_tag_values([(t.get("key"), t.get("value")) for t in tags])
        snap.state = "BackedUp"
        for t in tags:
            st.tags.append(m.Tag(t.get("key", ""), t.get("value", ""), snap.id, "Snapshot"))
        return {"snapshot": views.snapshot_view(st, snap)}

    def on_fail(_err: ApiError) -> None:
        snap.state, snap.removed = "Error", True

    job = ctx.submit(run, on_fail, "Snapshot", snap.id)
    return {"id": snap.id, "jobid": job.id}


@command("deleteSnapshot", is_async=True)
def delete_snapshot(ctx: Ctx, p: Params) -> dict[str, Any]:
    snap = ctx.entity(p, "id", "snapshot", required=True,
                      not_found=f"unable to find a snapshot with id {p.str('id')}")

    def run() -> dict[str, Any]:
        snap.state, snap.removed = "Destroyed", True
        ctx.st.tags = [t for t in ctx.st.tags if t.resource_id != snap.id]
        return {"success": True}

    return {"jobid": ctx.submit(run, None, "Snapshot", snap.id).id}


@command("listSnapshots")
def list_snapshots(ctx: Ctx, p: Params) -> dict[str, Any]:
    snaps = ctx.st.live("snapshot")
    given, obj = ctx.id_filter(p, "id", "snapshot")
    if given:
        snaps = [s for s in snaps if obj is not None and s.id == obj.id]
    g, vol = ctx.id_filter(p, "volumeid", "volume")
    if g:
        snaps = [s for s in snaps if vol is not None and s.volume_id == vol.id]
    return ctx.listing(p, [views.snapshot_view(ctx.st, s) for s in snaps], "snapshot")
