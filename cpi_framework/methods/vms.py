"""VM methods: create_vm, delete_vm, has_vm, reboot_vm, set_vm_metadata, calculate_vm_cloud_properties.

The steps of ``create_vm`` live in :mod:`cpi_framework.vm_builder`; lookups and the delete
path in :mod:`cpi_framework.services.vms`. See ``docs/vms.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cpi_framework.errors import CloudError, CpiError
from cpi_framework.services import registry, tags
from cpi_framework.services import vms as vm_service

if TYPE_CHECKING:
    from cpi_framework.context import CallContext

DISPLAY_NAME_MAX = 255


def create_vm(
    ctx: CallContext,
    agent_id: str,
    stemcell_cid: str,
    cloud_properties: dict,
    networks: dict,
    disk_cids: list | None = None,
    env: dict | None = None,
) -> Any:
    """A started VM with its agent settings; ``vm_cid`` (v1) or ``[vm_cid, networks]`` (v2+)."""
    from cpi_framework.vm_builder import VmBuild

    if not agent_id:
        raise CpiError("Argument 'agent_id' of 'create_vm' must be a non-empty string")
    if disk_cids is not None and not all(isinstance(cid, str) and cid for cid in disk_cids):
        raise CpiError(f"Argument 'disk_cids' of 'create_vm' must be an array of disk CIDs, got {disk_cids!r}")
    vm_cid, settings_networks = VmBuild(ctx).run(agent_id, stemcell_cid, cloud_properties, networks, disk_cids, env)
    if ctx.api_version >= 2:
        return [vm_cid, settings_networks]
    return vm_cid


def delete_vm(ctx: CallContext, vm_cid: str) -> None:
    """Delete the VM and its ephemeral disk; persistent disks are detached and kept.

    A missing VM is ``VMNotFound`` (both callers tolerate it); success only once the VM reads
    back as gone.
    """
    vm = vm_service.get_vm(ctx, vm_cid)
    vm_service.delete_vm_resources(ctx, vm)
    if registry.registry_configured(ctx):
        try:
            registry.delete_settings(ctx, vm_cid)
        except CloudError as exc:  # a stale registry entry harms nobody; a failed delete_vm would
            ctx.log.warning("VM %s deleted, but its registry entry was not: %s", vm_cid, exc.message)
    ctx.log.info("deleted VM %s", vm_cid)


def has_vm(ctx: CallContext, vm_cid: str) -> bool:
    """True for a live VM; false for unknown, malformed, destroyed or expunging CIDs (never an error)."""
    return vm_service.find_vm(ctx, vm_cid) is not None


def reboot_vm(ctx: CallContext, vm_cid: str) -> None:
    """Reboot a running VM; start a stopped one (cck's "reboot" expects it to come back)."""
    vm = vm_service.get_vm(ctx, vm_cid)
    command = "rebootVirtualMachine" if vm.get("state") == "Running" else "startVirtualMachine"
    result = ctx.client.call_async(command, {"id": vm["id"]}, timeout=ctx.timeout("reboot_vm"), operation="reboot_vm")
    state = (result.get("virtualmachine") or result).get("state")
    if state and state != "Running":
        raise CloudError(f"{command}: VM '{vm_cid}' is {state} after the reboot")
    ctx.log.info("%s VM %s", "rebooted" if command == "rebootVirtualMachine" else "started", vm_cid)


def set_vm_metadata(ctx: CallContext, vm_cid: str, metadata: dict) -> None:
    """Tags equal to the metadata (values as strings) beside the ownership tags, and a readable display name."""
    vm = vm_service.get_vm(ctx, vm_cid)
    current = tags.tags_of(vm)
    missing_own = {k: v for k, v in tags.cpi_tags(ctx, "vm").items() if k not in current}
    if missing_own:  # a VM of an earlier CPI, or one created without a director uuid
        tags.create_tags(ctx, "UserVm", [str(vm["id"])], missing_own)
    tags.replace_tags(ctx, "UserVm", str(vm["id"]), tags.stringify_metadata(metadata), current=current)
    name = display_name(metadata)
    if name and name != vm.get("displayname"):
        ctx.client.call("updateVirtualMachine", {"id": vm["id"], "displayname": name})


def display_name(metadata: dict[str, Any]) -> str | None:
    """``name`` (``job/instance-id``), else ``job/index``, else ``compilation`` names; None when nothing fits."""
    name = metadata.get("name")
    if not (isinstance(name, str) and name):
        job, index = metadata.get("job"), metadata.get("index")
        if isinstance(job, str) and job:
            name = f"{job}/{index}" if index is not None else job
        else:
            return None
    if isinstance(metadata.get("compiling"), str) and metadata["compiling"]:
        name = f"{name} (compiling {metadata['compiling']})"
    printable = "".join(ch for ch in name if ch.isprintable())
    return printable[:DISPLAY_NAME_MAX] or None


def calculate_vm_cloud_properties(ctx: CallContext, desired_instance_size: dict) -> dict[str, Any]:
    """cloud_properties for ``{cpu, ram, ephemeral_disk_size}``: the smallest offerings that fit."""
    from cpi_framework.services.sizing import cloud_properties_for

    return cloud_properties_for(ctx, desired_instance_size)
