"""Virtual machines: deploy, lifecycle, listing (reference §2.3)."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import secrets
import uuid
from typing import Any
from urllib.parse import unquote

from .. import models as m
from .. import views
from ..errors import ApiError, param_error
from ..params import Params
from ..state import now_str
from . import Ctx, command

_HOSTNAME = re.compile(r"^(?!-)(?![0-9])[A-Za-z0-9-]{1,63}(?<!-)$")
_NETWORK_DOMAIN = "cs1cloud.internal"


def validate_userdata(ctx: Ctx, raw: str) -> str:
    """``UserDataManagerImpl.validateUserData`` (reference §1.5): GET < 4096 base64 chars,
    POST <= ``vm.userdata.max.length``; must decode; decoded length >= 1.  Returns the
    normalised (re-padded) base64 the server stores."""
    api = ctx.cfg["api"]
    if "%" in raw:
        raw = unquote(raw)  # the server's tolerance for double-encoding clients
    max_len = int(api["userdata_max_length"])
    if ctx.method == "GET":
        if len(raw) >= int(api["get_userdata_limit"]):
            raise param_error("User data is too long for an http GET request")
    elif len(raw) > 1024 * 1024:
        raise param_error("User data is too long for an http POST request")
    if len(raw) > max_len:
        raise param_error(f"User data has exceeded configurable max length : {max_len}")
    try:
        decoded = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise param_error("User data is not base64 encoded") from None
    if len(decoded) < 1:
        raise param_error("User data is too short")
    return base64.b64encode(decoded).decode("ascii")


def vm_not_found(value: str) -> str:
    return f"Unable to find a virtual machine with specified vmId {value}"


def get_vm(ctx: Ctx, p: Params, name: str = "id", required: bool = True) -> m.VirtualMachine:
    return ctx.entity(p, name, "vm", required=required, not_found=vm_not_found(p.str(name) or ""))


def boot(ctx: Ctx, vm: m.VirtualMachine) -> None:
    """A (re)boot re-enumerates the guest's disks in device-id order (see guest.py)."""
    vm.boots += 1
    disks = sorted((v for v in ctx.st.live("volume") if v.vm_id == vm.id), key=lambda v: v.deviceid or 0)
    vm.guest_disk_names = {v.id: i for i, v in enumerate(disks)}


def _resolve_networks(ctx: Ctx, p: Params, zone: m.Zone) -> list[tuple[m.Network, str | None]]:
    ipmap = p.map("iptonetworklist")
    netids = p.list("networkids")
    if ipmap and (netids or p.str("ipaddress")):
        raise param_error("ipToNetworkMap can't be specified along with networkIds or ipAddress")
    pairs: list[tuple[m.Network, str | None]] = []
    if ipmap:
        for entry in ipmap:
            if "networkid" not in entry:
                raise param_error("Unable to execute API command deployvirtualmachine due to missing "
                                  "parameter iptonetworklist[].networkid")
            pairs.append((_network(ctx, entry["networkid"], zone), entry.get("ip")))
    elif netids:
        for i, nid in enumerate(netids):
            pairs.append((_network(ctx, nid, zone), p.str("ipaddress") if i == 0 else None))
    else:
        nets = [n for n in ctx.st.live("network") if n.zone_id == zone.id]
        if len(nets) != 1:
            raise param_error("More than 1 default Isolated networks are found for account "
                              f"{ctx.cfg['account']}; please specify networkIds")
        pairs.append((nets[0], p.str("ipaddress")))
    seen: set[str] = set()
    for net, _ in pairs:
        if net.id in seen:
            raise param_error(f"Network id={net.id} is specified twice")
        seen.add(net.id)
    return pairs


def _network(ctx: Ctx, value: str, zone: m.Zone) -> m.Network:
    net = ctx.st.get("network", value)
    if net is None:
        from ..errors import invalid_uuid
        raise invalid_uuid("networkids", value)
    if net.zone_id != zone.id:
        raise param_error(f"Network id={net.id} doesn't belong to zone {zone.id}")
    return net


def _check_ip(ctx: Ctx, net: m.Network, ip: str) -> None:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        raise param_error(f"Invalid format for IPv4 address: {ip}") from None
    if addr not in ipaddress.ip_network(net.cidr) or ip in (net.gateway, net.router_ip):
        raise param_error(f"Requested ip address {ip} is not in the ip range of network {net.name} ({net.cidr})")
    if ip in ctx.st.ips_in_use(net.id):
        raise ApiError(533, f"The requested IP address {ip} is already in use in network {net.name}; "
                            "Unable to allocate guest IP", 4325)


def _compute(ctx: Ctx, p: Params, so: m.ServiceOffering) -> tuple[int, int, int, dict[str, str]]:
    details = p.details()
    low = {k.lower(): v for k, v in details.items()}
    if so.customized:
        if not all(k in low for k in ("cpunumber", "memory")):
            raise param_error("Need to specify custom parameter values cpu, cpu speed and memory when "
                              "using custom offering")
        try:
            return int(low["cpunumber"]), int(low.get("cpuspeed", 1000)), int(low["memory"]), details
        except ValueError:
            raise param_error("Invalid cpuNumber/cpuSpeed/memory detail value") from None
    return int(so.cpunumber or 1), int(so.cpuspeed or 1000), int(so.memory or 512), details


@command("deployVirtualMachine", is_async=True)
def deploy(ctx: Ctx, p: Params) -> dict[str, Any]:
    st = ctx.st
    zone: m.Zone = ctx.entity(p, "zoneid", "zone", required=True)
    so: m.ServiceOffering = ctx.entity(p, "serviceofferingid", "serviceoffering", required=True)
    tpl: m.Template = ctx.entity(p, "templateid", "template", required=True)
    if tpl.zone_id != zone.id or not tpl.isready:
        raise param_error(f"Template {tpl.name} has not been completely downloaded to zone {zone.id}")
    hv = p.str("hypervisor")
    if hv and hv.lower() != tpl.hypervisor.lower():
        raise param_error("Hypervisor passed to the deployVm call, is different from the hypervisor type "
                          "of the template")
    cpus, speed, memory, details = _compute(ctx, p, so)
    name = p.str("name")
    if name is not None and not _HOSTNAME.match(name):
        raise param_error("Invalid name. Vm name can contain ASCII letters 'a' through 'z', the digits '0' "
                          "through '9', and the hyphen ('-'), must be between 1 and 63 characters long, and "
                          "can't start or end with \"-\" and can't start with digit")
    keypairs = p.list("keypairs") or p.list("keypair")
    for kp in keypairs:
        if st.by_name("keypair", kp) is None:
            raise param_error(f"A key pair with name '{kp}' was not found.")
    groups = _affinity_groups(ctx, p)
    userdata = validate_userdata(ctx, p.req("userdata")) if p.str("userdata") else None
    pairs = _resolve_networks(ctx, p, zone)
    num = st.next_num()
    vm_uuid = str(uuid.uuid4())
    hostname = name or f"VM-{vm_uuid}"
    for net, _ in pairs:
        for other in st.live("vm"):
            if other.name == hostname and any(n.network_id == net.id for n in other.nics):
                raise param_error(f"The vm with hostName {hostname} already exists in the network domain: "
                                  f"{_NETWORK_DOMAIN}; network={net.name}")
    nics: list[m.Nic] = []
    for i, (net, ip) in enumerate(pairs):
        if ip:
            _check_ip(ctx, net, ip)
        else:
            ip = st.allocate_ip(net)
            if ip is None:
                raise ApiError(533, f"Insufficient address capacity: unable to allocate guest IP in network "
                                    f"{net.name}", 4325)
        nics.append(m.Nic(str(uuid.uuid4()), net.id, ip, st.new_mac(), i, i == 0))
    root_gb = p.int("rootdisksize")
    low = {k.lower(): v for k, v in details.items()}
    if "rootdisksize" in low:
        root_gb = int(low["rootdisksize"])
    root_size = tpl.size or 2**30
    if root_gb is not None:
        if root_gb * 2**30 < tpl.size:
            raise param_error(f"Root disk size override ({root_gb} GB) is smaller than template size "
                              f"({tpl.size} bytes)")
        root_size = root_gb * 2**30
    data_offering = ctx.entity(p, "diskofferingid", "diskoffering")
    startvm = p.bool("startvm", True)
    vm = m.VirtualMachine(vm_uuid, num, hostname, p.str("displayname") or hostname, zone.id, tpl.id, so.id,
                          cpus, speed, memory, "Starting" if startvm else "Stopped", now_str(), nics, keypairs,
                          [g.id for g in groups], userdata, {k: v for k, v in details.items()
                                                             if k.lower() != "rootdisksize"})
    st.add("vm", vm)
    root = st.add("volume", m.Volume(str(uuid.uuid4()), num, f"ROOT-{num}", zone.id, "ROOT", root_size,
                                     "Allocated", now_str(), service_offering_id=so.id, template_id=tpl.id,
                                     vm_id=vm.id, deviceid=0))
    volumes = [root]
    if data_offering is not None:
        size_gb = p.int("size") if data_offering.customized else data_offering.disksize
        if not size_gb:
            raise param_error("Disk offering is customized; please specify size")
        volumes.append(st.add("volume", m.Volume(str(uuid.uuid4()), st.next_num(), f"DATA-{num}", zone.id,
                                                 "DATADISK", size_gb * 2**30, "Allocated", now_str(),
                                                 disk_offering_id=data_offering.id, vm_id=vm.id, deviceid=1)))

    def run() -> dict[str, Any]:
        for unit, vol in enumerate(volumes):
            vol.state, vol.hypervisor, vol.storage = "Ready", zone.hypervisor, f"Primary-{zone.name}"
            vol.scsi_unit = unit if zone.hypervisor == "VMware" else None
            vol.attached = now_str()
            vol.attach_order = st.next_attach_seq()
        if tpl.passwordenabled:
            vm.password = secrets.token_urlsafe(9)
        if startvm:
            vm.state = "Running"
            boot(ctx, vm)
        view = views.vm_view(st, vm)
        vm.password = None  # only returned right after deploy (§2.3)
        return {"virtualmachine": view}

    def on_fail(_err: ApiError) -> None:
        vm.state = "Error"

    job = ctx.submit(run, on_fail, "VirtualMachine", vm.id)
    return {"id": vm.id, "jobid": job.id}


def _affinity_groups(ctx: Ctx, p: Params) -> list[m.AffinityGroup]:
    ids, names = p.list("affinitygroupids"), p.list("affinitygroupnames")
    if ids and names:
        raise param_error("affinitygroupids parameter is mutually exclusive with affinitygroupnames parameter")
    out = []
    for gid in ids:
        g = ctx.st.get("affinitygroup", gid)
        if g is None:
            raise param_error(f"Unable to find affinity group by id {gid}")
        out.append(g)
    for name in names:
        g = ctx.st.by_name("affinitygroup", name)
        if g is None:
            raise param_error(f"Unable to find affinity group by name {name}")
        out.append(g)
    return out


def expunge(ctx: Ctx, vm: m.VirtualMachine) -> None:
    """Expunge: ROOT deleted, data disks detached, NAT/LB/affinity/tags released, IPs freed."""
    st = ctx.st
    for vol in st.live("volume"):
        if vol.vm_id != vm.id:
            continue
        if vol.type == "ROOT":
            vol.state, vol.removed = "Expunged", True
        else:
            vol.vm_id, vol.deviceid, vol.attached, vol.scsi_unit = None, None, None, None
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
                vm.state = "Running"
                boot(ctx, vm)
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
        vm.userdata = validate_userdata(ctx, p.req("userdata"))
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
    # parameter value, data for all matching VMs will be returned)" (reference §2).
    return ctx.listing(p, rendered, "virtualmachine", name_match="substring")
