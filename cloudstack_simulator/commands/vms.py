"""Virtual machines after deploy: destroy/expunge/recover, power, update, listing.

Deploy lives in ``vm_deploy``; helpers shared by both in ``vm_common``.
"""

from __future__ import annotations

from typing import Any

from .. import models as m
from .. import views
from ..errors import ApiError, param_error, runtime_error
from ..params import Params
from . import Ctx, command
from .vm_common import boot, get_vm, has_user_data_service, validate_userdata


def expunge(ctx: Ctx, vm: m.VirtualMachine) -> None:
    """Expunge: ROOT deleted, data disks detached, NAT/LB/affinity/tags released, IPs freed."""
    st = ctx.st
    for vol in st.live("volume"):
        if vol.vm_id != vm.id:
            continue
        if vol.type == "ROOT":
            vol.state, vol.removed = "Expunged", True
        else:
            vol.vm_id, vol.deviceid, vol.attached, vol.scsi_unit, vol.bus = None, None, None, None, None
    for ip in st.live("publicip"):
        if ip.static_nat_vm_id == vm.id:
            ip.static_nat_vm_id, ip.vm_guest_ip = None, None
    for rule in st.live("lbrule"):
        if vm.id in rule.vm_ids:
            rule.vm_ids.remove(vm.id)
    st.tags = [t for t in st.tags if t.resource_id != vm.id]
    vm.state, vm.removed = "Expunging", True


def _check_expunge_allowed(ctx: Ctx) -> None:
    if not ctx.cfg["api"].get("allow_user_expunge_recover_vm", True):
        raise ApiError(531, "Parameter expunge can be passed by Admin only. Or when the "
                            "allow.user.expunge.recover.vm key is set.", 4365)


@command("destroyVirtualMachine", is_async=True)
def destroy(ctx: Ctx, p: Params) -> dict[str, Any]:
    vm = get_vm(ctx, p)
    do_expunge = p.bool("expunge", False)
    if do_expunge:
        _check_expunge_allowed(ctx)
    delete_ids = p.list("volumeids")
    to_delete = []
    for vid in delete_ids:
        vol = ctx.st.get("volume", vid)
        if vol is None or vol.vm_id != vm.id or vol.type != "DATADISK":
            raise param_error(f"Please specify volumes that belong to the VM {vm.id}")
        to_delete.append(vol)

    def run() -> dict[str, Any]:
        for vol in to_delete:
            vol.vm_id, vol.deviceid, vol.state, vol.removed = None, None, "Expunged", True
            # their tags go with them, as deleteVolume's do here: UserVmManagerImpl.destroyVm deletes the
            # listed volumes through the volume service (deleteVolumesFromVm). Not checked separately
            # against the server's tag cleanup; kept consistent with deleteVolume.
            ctx.st.tags = [t for t in ctx.st.tags if t.resource_id != vol.id]
        if vm.state not in ("Destroyed", "Expunging"):
            vm.state = "Destroyed"
            for vol in ctx.st.live("volume"):
                if vol.vm_id == vm.id and vol.type == "ROOT":
                    vol.state = "Destroy"
        if do_expunge:
            expunge(ctx, vm)
        return {"virtualmachine": views.vm_view(ctx.st, vm)}

    job = ctx.submit(run, None, "VirtualMachine", vm.id)
    return {"jobid": job.id}


@command("expungeVirtualMachine", is_async=True)
def expunge_cmd(ctx: Ctx, p: Params) -> dict[str, Any]:
    vm = get_vm(ctx, p)
    _check_expunge_allowed(ctx)
    if vm.state not in ("Destroyed", "Error"):
        raise param_error(f"Please destroy vm with uuid: {vm.id} before expunging it")

    def run() -> dict[str, Any]:
        expunge(ctx, vm)
        return {"success": True}

    return {"jobid": ctx.submit(run, None, "VirtualMachine", vm.id).id}


@command("recoverVirtualMachine")
def recover(ctx: Ctx, p: Params) -> dict[str, Any]:
    vm = get_vm(ctx, p)
    _check_expunge_allowed(ctx)
    if vm.state != "Destroyed":
        raise param_error(f"Unable to recover VM {vm.id} as it is not in Destroyed state")
    vm.state = "Stopped"
    for vol in ctx.st.live("volume"):
        if vol.vm_id == vm.id and vol.type == "ROOT":
            vol.state = "Ready"
    return {"virtualmachine": views.vm_view(ctx.st, vm)}


def _power(ctx: Ctx, p: Params, target: str) -> dict[str, Any]:
    vm = get_vm(ctx, p)
    if vm.state in ("Destroyed", "Expunging", "Error"):
        raise param_error(f"Unable to {target} VM {vm.id} as it is in {vm.state} state")
    if target == "reboot" and vm.state != "Running":
        raise param_error(f"Unable to reboot VM {vm.id} since it is not in running state")

    def run() -> dict[str, Any]:
        if target in ("start", "reboot"):
            if vm.state != "Running" or target == "reboot":
                rebooting = target == "reboot" and vm.state == "Running"
                vm.state = "Running"
                boot(ctx, vm, reboot=rebooting)
        else:
            vm.state = "Stopped"
        return {"virtualmachine": views.vm_view(ctx.st, vm)}

    return {"jobid": ctx.submit(run, None, "VirtualMachine", vm.id).id}


@command("startVirtualMachine", is_async=True)
def start(ctx: Ctx, p: Params) -> dict[str, Any]:
    return _power(ctx, p, "start")


@command("stopVirtualMachine", is_async=True)
def stop(ctx: Ctx, p: Params) -> dict[str, Any]:
    p.bool("forced")
    return _power(ctx, p, "stop")


@command("rebootVirtualMachine", is_async=True)
def reboot(ctx: Ctx, p: Params) -> dict[str, Any]:
    return _power(ctx, p, "reboot")


@command("updateVirtualMachine")
def update(ctx: Ctx, p: Params) -> dict[str, Any]:
    vm = get_vm(ctx, p)
    if p.str("displayname") is not None:
        vm.displayname = p.req("displayname")
    if p.str("userdata"):
        userdata = validate_userdata(ctx, p.req("userdata"))
        # UserVmManagerImpl.updateVirtualMachine -> updateUserData (4.x): every NIC's network is
        # asked to save the user data; when none provides the UserData service the result is a
        # CloudRuntimeException, i.e. 530 (text masked for non-root-admin accounts, see app.py).
        if not any(has_user_data_service(ctx, ctx.st.get("network", n.network_id, True)) for n in vm.nics):
            raise runtime_error("Failed to reset userdata for the virtual machine ")
        vm.userdata = userdata
    details = p.details()
    if details:
        vm.details.update(details)
    return {"virtualmachine": views.vm_view(ctx.st, vm)}


@command("listVirtualMachines")
def list_vms(ctx: Ctx, p: Params) -> dict[str, Any]:
    st = ctx.st
    vms = st.live("vm")
    given, obj = ctx.id_filter(p, "id", "vm")
    if given:
        vms = [v for v in vms if obj is not None and v.id == obj.id]
    ids = p.list("ids")
    if ids:
        vms = [v for v in vms if v.id in ids]
    state = p.str("state")
    if state:
        if state.lower() == "present":
            vms = [v for v in vms if v.state not in ("Destroyed", "Expunging")]
        else:
            vms = [v for v in vms if v.state.lower() == state.lower()]
    elif not ctx.cfg["api"].get("allow_user_view_destroyed_vm", True):
        vms = [v for v in vms if v.state not in ("Destroyed", "Expunging")]
    for param, kind, attr in (("zoneid", "zone", "zone_id"), ("templateid", "template", "template_id"),
                              ("serviceofferingid", "serviceoffering", "service_offering_id")):
        g, o = ctx.id_filter(p, param, kind)
        if g:
            vms = [v for v in vms if o is not None and getattr(v, attr) == o.id]
    g, net = ctx.id_filter(p, "networkid", "network")
    if g:
        vms = [v for v in vms if net is not None and any(n.network_id == net.id for n in v.nics)]
    g, grp = ctx.id_filter(p, "affinitygroupid", "affinitygroup")
    if g:
        vms = [v for v in vms if grp is not None and grp.id in v.affinity_group_ids]
    kp = p.str("keypair")
    if kp:
        vms = [v for v in vms if kp in v.keypairs]
    rendered = []
    for v in vms:
        view = views.vm_view(st, v, ctx.jobs.pending_for(v.id))
        if p.bool("userdata") and v.userdata:
            view["userdata"] = v.userdata
        rendered.append(view)
    # ListVMsCmd: "name - name of the virtual machine (a substring match is made against the
    # parameter value, data for all matching VMs will be returned)".
    return ctx.listing(p, rendered, "virtualmachine", name_match="substring")
