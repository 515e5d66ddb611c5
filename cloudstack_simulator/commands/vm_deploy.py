"""deployVirtualMachine: networks and IPs, compute sizing, disks, affinity groups."""

from __future__ import annotations

import ipaddress
import re
import secrets
import uuid
from typing import Any

from .. import disk_bus, limits, views
from .. import models as m
from ..errors import ApiError, invalid_uuid, param_error
from ..params import Params
from ..state import now_str
from . import Ctx, command
from .vm_common import boot, has_user_data_service, validate_userdata

_HOSTNAME = re.compile(r"^(?!-)(?![0-9])[A-Za-z0-9-]{1,63}(?<!-)$")
_NETWORK_DOMAIN = "cs1cloud.internal"


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
        _validate_custom_speed(so, low)
        try:
            return int(low["cpunumber"]), int(low.get("cpuspeed") or so.cpuspeed), int(low["memory"]), details
        except ValueError:
            raise param_error("Invalid cpuNumber/cpuSpeed/memory detail value") from None
    return int(so.cpunumber or 1), int(so.cpuspeed or 1000), int(so.memory or 512), details


def _validate_custom_speed(so: m.ServiceOffering, low: dict[str, str]) -> None:
    """``UserVmManagerImpl.validateCustomParameters`` (4.x, create phase, 431), CPU speed part.

    An offering without a speed needs a positive ``cpuSpeed``; one that fixes its speed (a
    "custom constrained" offering: ``iscustomized`` with ``cpuspeed``) refuses the detail, as
    ``ServiceOfferingVO.isCustomCpuSpeedSupported`` (customised and no speed) is false for it.
    """
    speed = low.get("cpuspeed")
    if so.cpuspeed is None:
        try:
            ok = speed is not None and int(speed) > 0
        except ValueError:
            ok = False
        if not ok:
            raise param_error(f"Invalid cpu speed value, specify a value between 1 and {2**31 - 1}")
    elif speed is not None:
        raise param_error(f"The cpu speed of this offering id:{so.id} is not customizable. This is predefined in "
                          "the template.")


def _check_default_network_user_data(ctx: Ctx, net: m.Network, userdata: str | None, keypairs: list[str],
                                     tpl: m.Template) -> None:
    """``UserVmManagerImpl.createVirtualMachine`` (4.x, create phase, 431): user data, an SSH key pair
    or a password-enabled template need the UserData service on the **default** network.
    The password text is the server's (quoted in operators' reports); the other two follow it
    (modelled, same sentence shape)."""
    if has_user_data_service(ctx, net):
        return
    where = f"there is no support for UserData service in the default network {net.name}/{net.id}"
    if userdata:
        raise param_error(f"Unable to deploy VM as UserData is provided while deploying the VM, but {where}")
    if keypairs:
        raise param_error(f"Unable to deploy VM as SSH keypair is provided while deploying the VM, but {where}")
    if tpl.passwordenabled:
        raise param_error(f"Unable to deploy VM as template {tpl.id} is password enabled, but {where}")


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
    _check_default_network_user_data(ctx, pairs[0][0], userdata, keypairs, tpl)
    data_offering = ctx.entity(p, "diskofferingid", "diskoffering")
    # UserVmManagerImpl.resourceLimitCheck and the volume checks run in the create phase: immediate 535.
    limits.check(st, "user_vm")
    limits.check(st, "volume", 2 if data_offering is not None else 1)
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
        for vol in volumes:
            vol.state, vol.hypervisor, vol.storage = "Ready", zone.hypervisor, f"Primary-{zone.name}"
            vol.attached = now_str()
        disk_bus.lay_out(st, vm, zone)  # buses and SCSI units also for a VM deployed stopped
        if tpl.passwordenabled:
            vm.password = secrets.token_urlsafe(9)
        if startvm:
            vm.state = "Running"
            boot(ctx, vm)
        view = views.vm_view(st, vm)
        vm.password = None  # only returned right after deploy
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
