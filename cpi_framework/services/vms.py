"""VM lookups by CID and the one delete path used by ``delete_vm`` and by ``create_vm``'s cleanup.

A CID is the CloudStack UUID, or a name of the earlier CPIs (``cpivm-…``) resolved by exact name. Each
lookup is one ``listVirtualMachines`` call by id or by name, never a listing of the account,
so ``has_vm``/``delete_vm`` cost the same with ten VMs or ten thousand. Destroyed and
expunging VMs count as absent: the director must be able to recreate them, and BOSH never
gets a destroyed VM back.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cpi_framework.errors import CloudError, VMNotFound
from cpi_framework.services.catalog import is_uuid

if TYPE_CHECKING:
    from cpi_framework.context import CallContext

LEGACY_VM_PREFIX = "cpivm-"
LEGACY_EPHEMERAL_PREFIX = "cpi-ephemeral-disk-"
EPHEMERAL_PREFIX = "bosh-ephemeral-"
VM_ID_TAG = "bosh-vm-id"
ABSENT_STATES = frozenset({"Destroyed", "Expunging", "Expunged"})
RUNNING_STATES = frozenset({"Running", "Starting", "Stopping", "Migrating"})
EXPUNGE_POLL = 2.0


def _cache_key(cid: str) -> tuple[str, str]:
    return ("vm", cid)


def find_vm(ctx: CallContext, cid: str) -> dict[str, Any] | None:
    """The live VM a CID names, or None (unknown, malformed, destroyed or expunging)."""
    key = _cache_key(cid)
    if key in ctx.cache:
        return ctx.cache[key]
    items = _lookup(ctx, cid)
    live = [vm for vm in items if vm.get("state") not in ABSENT_STATES]
    if len(live) > 1:
        ids = ", ".join(str(vm.get("id")) for vm in live)
        raise CloudError(f"VM CID '{cid}' is ambiguous: it names several VMs ({ids})")
    vm = live[0] if live else None
    ctx.cache[key] = vm
    return vm


def _lookup(ctx: CallContext, cid: str) -> list[dict[str, Any]]:
    from cpi_framework.cloudstack import ApiError

    if is_uuid(cid):
        try:
            items = ctx.client.list("listVirtualMachines", {"id": cid})
        except ApiError as exc:
            if exc.is_not_found:
                return []
            raise
        return [vm for vm in items if vm.get("id") == cid]
    if cid.startswith(LEGACY_VM_PREFIX):
        return ctx.client.find_by_name("listVirtualMachines", cid)
    return []  # no CID of ours has another shape: nothing to ask the cloud


def get_vm(ctx: CallContext, cid: str) -> dict[str, Any]:
    vm = find_vm(ctx, cid)
    if vm is None:
        raise VMNotFound(f"VM '{cid}' not found")
    return vm


def forget_vm(ctx: CallContext, *cids: str) -> None:
    """Drop cached lookups after the VM changed (deleted, started…)."""
    for cid in cids:
        ctx.cache.pop(_cache_key(cid), None)


def remember_vm(ctx: CallContext, vm: dict[str, Any]) -> None:
    ctx.cache[_cache_key(str(vm["id"]))] = vm


def vm_zone_id(vm: dict[str, Any]) -> str:
    return str(vm["zoneid"])


def is_ephemeral_of(volume: dict[str, Any], vm: dict[str, Any]) -> bool:
    """Whether a data volume is this VM's ephemeral disk (ours by tag, or an earlier CPI's, by name)."""
    from cpi_framework.services.tags import ROLE_TAG, tags_of

    tags = tags_of(volume)
    if tags.get(ROLE_TAG) == "ephemeral-disk" and tags.get(VM_ID_TAG) == vm.get("id"):
        return True
    name = str(volume.get("name") or "")
    return name == f"{EPHEMERAL_PREFIX}{vm.get('id')}" or name.startswith(LEGACY_EPHEMERAL_PREFIX)


def detached_ephemeral_volumes(ctx: CallContext, vm: dict[str, Any]) -> list[dict[str, Any]]:
    """This VM's ephemeral volumes that are not attached: an earlier delete_vm failed after
    detaching them, or an earlier release's create_vm (which made the disk with ``createVolume``)
    was killed before attaching (or even tagging) them.

    Found by exact name, ``bosh-ephemeral-<vm id>``: the name is set by ``createVolume`` itself,
    so unlike the tags it cannot be missing. Today's create_vm deploys the disk with the VM.
    """
    from cpi_framework.services.volumes import GONE_STATES

    items = ctx.client.find_by_name(
        "listVolumes", f"{EPHEMERAL_PREFIX}{vm['id']}", {"type": "DATADISK", "listall": True}
    )
    return [v for v in items if not v.get("virtualmachineid") and v.get("state") not in GONE_STATES]


# -- the delete path ----------------------------------------------------------------------------


def release_static_nat(ctx: CallContext, vm: dict[str, Any]) -> None:
    """Disable the static NAT of the VM's public IP (the VM listing names it: no extra lookup)."""
    from cpi_framework.cloudstack import CloudStackError

    ip_id = vm.get("publicipid")
    if not ip_id:
        return
    try:
        ctx.client.call_async(
            "disableStaticNat", {"ipaddressid": ip_id}, timeout=ctx.timeout("delete_vm"), operation="delete_vm"
        )
    except CloudStackError as exc:
        if _already_gone(exc) or _nat_already_released(exc):
            ctx.log.info("static NAT of %s on VM %s already released: %s", vm.get("publicip"), vm["id"], exc)
            return
        raise
    ctx.log.info("released static NAT %s from VM %s", vm.get("publicip"), vm["id"])


def _nat_already_released(exc: Exception) -> bool:
    """The server's ways of saying the IP has no static NAT (any more): done, not a failure.

    ``RulesManagerImpl.disableStaticNat`` answers "Specified IP address id is not associated
    with any vm Id" (a failed job, errorcode 530) when another call already released it.
    """
    text = str(getattr(exc, "errortext", None) or exc).lower()
    return "not associated with any vm" in text or (
        "static nat" in text and ("not enabled" in text or "not static nat" in text))


def stop_vm(ctx: CallContext, vm: dict[str, Any]) -> None:
    """Force-stop a running VM; plain stop when the account may not force (allow.user.force.stop.vm)."""
    from cpi_framework.cloudstack import CloudStackError

    if vm.get("state") not in RUNNING_STATES:
        return
    params = {"id": vm["id"], "forced": True}
    try:
        ctx.client.call_async("stopVirtualMachine", params, timeout=ctx.timeout("delete_vm"), operation="delete_vm")
    except CloudStackError as exc:
        if "force" not in str(exc).lower():
            raise
        ctx.log.warning("forced stop refused (%s); stopping VM %s normally", exc, vm["id"])
        ctx.client.call_async(
            "stopVirtualMachine", {"id": vm["id"]}, timeout=ctx.timeout("delete_vm"), operation="delete_vm"
        )


def _already_gone(exc: Exception) -> bool:
    return bool(getattr(exc, "is_not_found", False))


def _expunge_refused(exc: Exception) -> bool:
    text = str(getattr(exc, "errortext", None) or exc).lower()
    return "expunge" in text and ("admin" in text or "allow.user.expunge" in text)


def destroy_vm(ctx: CallContext, vm: dict[str, Any], volume_ids: Sequence[str] = ()) -> bool:
    """Destroy and expunge in one job, deleting ``volume_ids`` (data disks attached to the VM) with it.

    True when the job's answer shows the VM destroyed: the read-back is then redundant, as the
    server's ``UserVmManagerImpl.destroyVm`` fails the job when the expunge fails.

    One job does it all (server source, ``UserVmManagerImpl.destroyVm(DestroyVMCmd)``): it stops
    the VM itself (``vm.destroy.forcestop``), detaches every data disk, destroys, expunges, then
    deletes ``volumeids`` (``DestroyVMCmd``: ``volumeids`` since 4.12.0, ``expunge`` since 4.2.1;
    an older server ignores ``volumeids``, as it ignores any parameter its command does not
    declare, so the caller reads the disks back). ``cpi.force_expunge`` (default true) sends
    ``expunge=true``. An account that may not expunge (``allow.user.expunge.recover.vm`` off)
    gets a plain destroy, an ``expungeVirtualMachine`` attempt, then a bounded wait of
    ``cpi.vm_expunge_delay`` seconds for the server's expunge thread, so a static IP can be
    reused by the next ``create_vm``.
    """
    from cpi_framework.cloudstack import CloudStackError

    timeout = ctx.timeout("delete_vm")
    expunge = ctx.config.cpi.force_expunge
    volumes = ",".join(volume_ids) or None
    try:
        result = ctx.client.call_async(
            "destroyVirtualMachine",
            {"id": vm["id"], "expunge": True if expunge else None, "volumeids": volumes},
            timeout=timeout,
            operation="delete_vm",
        )
        if expunge:
            answered = (result.get("virtualmachine") or {}) if isinstance(result, dict) else {}
            return answered.get("id") == vm["id"] and answered.get("state") in ABSENT_STATES
    except CloudStackError as exc:
        if not (expunge and _expunge_refused(exc)):
            raise
        ctx.log.warning("this account may not expunge VMs (%s); destroying VM %s without expunge", exc, vm["id"])
        ctx.client.call_async("destroyVirtualMachine", {"id": vm["id"], "volumeids": volumes}, timeout=timeout,
                              operation="delete_vm")
        try:
            ctx.client.call_async("expungeVirtualMachine", {"id": vm["id"]}, timeout=timeout, operation="delete_vm")
            return False
        except CloudStackError as expunge_exc:
            if not _expunge_refused(expunge_exc):
                raise
    _wait_expunged(ctx, vm)
    return False


def _wait_expunged(ctx: CallContext, vm: dict[str, Any]) -> None:
    delay = ctx.config.cpi.vm_expunge_delay
    if delay <= 0:
        return
    ctx.log.info("waiting up to %ss for CloudStack to expunge VM %s (cpi.vm_expunge_delay)", delay, vm["id"])
    deadline = time.monotonic() + delay
    while time.monotonic() < deadline:
        if not ctx.client.list("listVirtualMachines", {"id": vm["id"]}):
            return
        time.sleep(min(EXPUNGE_POLL, max(0.0, deadline - time.monotonic())))


def verify_gone(ctx: CallContext, vm: dict[str, Any]) -> None:
    """Read the VM back: success only when it is absent or destroyed (never assume)."""
    forget_vm(ctx, str(vm["id"]))
    items = [v for v in ctx.client.list("listVirtualMachines", {"id": vm["id"]}) if v.get("id") == vm["id"]]
    left = [v for v in items if v.get("state") not in ABSENT_STATES]
    if left:
        raise CloudError(f"VM '{vm['id']}' is still {left[0].get('state')} after destroyVirtualMachine")


def delete_vm_resources(ctx: CallContext, vm: dict[str, Any]) -> None:
    """The full delete path: NAT, persistent disks detached, one destroy job that also deletes the
    ephemeral disk, the ephemeral disk read back (and deleted here if it survived).

    Requests, VM with an ephemeral disk (docs/performance.md, "API cost"): listVolumes, destroy
    + poll, listVolumes of the ephemeral disk = 4 after the caller's lookup. Guarantees:

    * persistent disks are detached before the destroy, never in ``volumeids``: the director
      re-attaches them to the VM's replacement, which CloudStack refuses while they hang on a
      destroyed-but-not-expunged VM (a bug of the Java CloudStack CPI);
    * the ephemeral disk is confirmed gone by reading it back: a server older than 4.12 ignores
      ``volumeids`` and a failed job may leave it; either way it is deleted here;
    * success only once the VM is known destroyed: from the destroy job's answer, else a read-back;
    * a retry finds everything again: the ephemeral disk by its VM (attached) or, when none is
      attached, by its exact name (detached by an older CPI's failed delete, or a create_vm cut
      short before attaching it) - a lookup that costs nothing in the usual case.
    """
    from cpi_framework.services import volumes

    release_static_nat(ctx, vm)
    ephemeral = []
    for volume in volumes.volumes_of_vm(ctx, str(vm["id"]), type="DATADISK"):
        if is_ephemeral_of(volume, vm):
            ephemeral.append(volume)
        else:
            volumes.detach_volume(ctx, volume)
            ctx.log.info("detached persistent disk %s from VM %s (kept)", volume.get("id"), vm["id"])
    if not ephemeral:
        ephemeral = detached_ephemeral_volumes(ctx, vm)
    attached = [str(v["id"]) for v in ephemeral if v.get("virtualmachineid") == vm["id"]]
    destroyed = _destroy_or_stop_and_retry(ctx, vm, attached)
    for volume in ephemeral:
        left = volumes.find_volume(ctx, str(volume["id"]))
        if left is None:
            ctx.log.info("deleted ephemeral disk %s of VM %s", volume.get("id"), vm["id"])
            continue
        volumes.detach_volume(ctx, left)
        volumes.delete_volume(ctx, left)
        ctx.log.info("deleted ephemeral disk %s of VM %s (the destroy job left it)", volume.get("id"), vm["id"])
    if not destroyed:
        verify_gone(ctx, vm)


def _destroy_or_stop_and_retry(ctx: CallContext, vm: dict[str, Any], volume_ids: list[str]) -> bool:
    """The destroy stops the VM itself; only when it fails with the VM still running does a forced
    stop come first on a second attempt (a guest that ignores the shutdown request)."""
    from cpi_framework.cloudstack import AsyncJobFailed

    try:
        return destroy_vm(ctx, vm, volume_ids)
    except AsyncJobFailed as exc:  # the job ended; a timeout or a transport error may still be running
        forget_vm(ctx, str(vm["id"]))
        current = find_vm(ctx, str(vm["id"]))
        if current is None:
            ctx.log.info("destroyVirtualMachine failed (%s) but VM %s is gone", exc, vm["id"])
            return True
        if current.get("state") not in RUNNING_STATES:
            raise
        ctx.log.warning("destroyVirtualMachine failed (%s); stopping VM %s forcibly and trying again", exc, vm["id"])
        stop_vm(ctx, current)
        return destroy_vm(ctx, current, volume_ids)
