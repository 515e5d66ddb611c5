"""Networks, NICs, public IPs, static NAT and load-balancer membership."""

from __future__ import annotations

import uuid
from typing import Any

from .. import models as m
from .. import views
from ..errors import ApiError, param_error, runtime_error
from ..params import Params
from ..state import now_str
from . import Ctx, command

NAT_CONFLICT = 537  # NETWORK_RULE_CONFLICT_ERROR


@command("listNetworks")
def list_networks(ctx: Ctx, p: Params) -> dict[str, Any]:
    nets = ctx.st.live("network")
    given, obj = ctx.id_filter(p, "id", "network")
    if given:
        nets = [n for n in nets if obj is not None and n.id == obj.id]
    g, zone = ctx.id_filter(p, "zoneid", "zone")
    if g:
        nets = [n for n in nets if zone is not None and n.zone_id == zone.id]
    ntype = p.str("type")
    if ntype and ntype.lower() != "isolated":
        nets = []
    traffic = p.str("traffictype")
    if traffic and traffic.lower() != "guest":
        nets = []
    return ctx.listing(p, [views.network_view(ctx.st, n) for n in nets], "network")


@command("listNics")
def list_nics(ctx: Ctx, p: Params) -> dict[str, Any]:
    vm = ctx.entity(p, "virtualmachineid", "vm", required=True)
    nics = list(vm.nics)
    nicid = p.str("nicid")
    if nicid:
        nics = [n for n in nics if n.id == nicid]
    g, net = ctx.id_filter(p, "networkid", "network")
    if g:
        nics = [n for n in nics if net is not None and n.network_id == net.id]
    return ctx.listing(p, [views.nic_view(ctx.st, vm, n) for n in nics], "nic")


@command("listPublicIpAddresses")
def list_public_ips(ctx: Ctx, p: Params) -> dict[str, Any]:
    ips = ctx.st.live("publicip")
    given, obj = ctx.id_filter(p, "id", "publicip")
    if given:
        ips = [i for i in ips if obj is not None and i.id == obj.id]
    address = p.str("ipaddress")
    if address:
        ips = [i for i in ips if i.ipaddress == address]
    g, zone = ctx.id_filter(p, "zoneid", "zone")
    if g:
        ips = [i for i in ips if zone is not None and i.zone_id == zone.id]
    for param in ("associatednetworkid", "networkid"):
        g, net = ctx.id_filter(p, param, "network")
        if g:
            ips = [i for i in ips if net is not None and i.network_id == net.id]
    if p.str("isstaticnat") is not None:
        want = p.bool("isstaticnat")
        ips = [i for i in ips if (i.static_nat_vm_id is not None) == want]
    return ctx.listing(p, [views.public_ip_view(ctx.st, i) for i in ips], "publicipaddress")


@command("associateIpAddress", is_async=True)
def associate_ip(ctx: Ctx, p: Params) -> dict[str, Any]:
    net = ctx.entity(p, "networkid", "network")
    zone = ctx.entity(p, "zoneid", "zone")
    if net is None and zone is None:
        raise param_error("Unable to figure out zone to assign IP to. Please specify either zoneid, or networkid, "
                          "or vpcid")
    zone = zone or ctx.st.get("zone", net.zone_id)
    zcfg = next(z for z in ctx.cfg["zones"] if z["name"] == zone.name)
    used = {i.ipaddress for i in ctx.st.live("publicip")}
    wanted = p.str("ipaddress")
    pool = [a for a in zcfg.get("public_ip_pool") or [] if a not in used]
    if wanted is not None:
        pool = [a for a in pool if a == wanted]
    if not pool:
        raise ApiError(533, f"Insufficient address capacity: no free public IP in zone {zone.name}", 4325)
    ip = ctx.st.add("publicip", m.PublicIp(str(uuid.uuid4()), pool[0], zone.id, net.id if net else None, now_str()))

    def on_fail(_err: ApiError) -> None:
        ip.removed = True

    job = ctx.submit(lambda: {"ipaddress": views.public_ip_view(ctx.st, ip)}, on_fail, "IpAddress", ip.id)
    return {"id": ip.id, "jobid": job.id}


@command("disassociateIpAddress", is_async=True)
def disassociate_ip(ctx: Ctx, p: Params) -> dict[str, Any]:
    ip = ctx.entity(p, "id", "publicip", required=True, not_found=f"Unable to find ip address by id={p.str('id')}")

    def run() -> dict[str, Any]:
        if ip.static_nat_vm_id:
            ip.static_nat_vm_id = ip.vm_guest_ip = None
        ip.removed = True
        return {"success": True}

    return {"jobid": ctx.submit(run, None, "IpAddress", ip.id).id}


@command("enableStaticNat")
def enable_static_nat(ctx: Ctx, p: Params) -> dict[str, Any]:
    st = ctx.st
    ip = ctx.entity(p, "ipaddressid", "publicip", required=True)
    vm = ctx.entity(p, "virtualmachineid", "vm", required=True)
    net = ctx.entity(p, "networkid", "network")
    if vm.state not in ("Running", "Stopped"):
        raise param_error(f"Invalid user vm: {vm.id}; it is in {vm.state} state")
    if ip.issourcenat:
        raise ApiError(NAT_CONFLICT, "Can't enable static nat on the source nat ip address", 4250)
    if ip.static_nat_vm_id is not None:
        raise ApiError(NAT_CONFLICT, f"Failed to enable static nat for the ip address id={ip.id} as vm "
                                     f"id={ip.static_nat_vm_id} is already associated with ip id={ip.id}", 4250)
    other = next((i for i in st.live("publicip") if i.static_nat_vm_id == vm.id), None)
    if other is not None:
        raise ApiError(NAT_CONFLICT, f"Failed to enable static nat for the ip address id={ip.id} as vm id={vm.id} "
                                     f"is already associated with ip id={other.id}", 4250)
    nic = next((n for n in vm.nics if net is None or n.network_id == net.id), None)
    if nic is None:
        raise param_error(f"Unable to find nic for vm {vm.id} in network {net.id if net else ''}")
    if ip.network_id is not None and ip.network_id != nic.network_id:
        raise param_error(f"Invalid network id {nic.network_id}: the ip address id={ip.id} is associated with "
                          f"network id={ip.network_id}")
    guest = p.str("vmguestip") or nic.ipaddress
    ip.network_id, ip.static_nat_vm_id, ip.vm_guest_ip = nic.network_id, vm.id, guest
    return {"success": True}


@command("disableStaticNat", is_async=True)
def disable_static_nat(ctx: Ctx, p: Params) -> dict[str, Any]:
    ip = ctx.entity(p, "ipaddressid", "publicip", required=True)

    def run() -> dict[str, Any]:
        # RulesManagerImpl.disableStaticNat(long ipId) (4.x): checked when the job runs, not at
        # submission; the job dispatcher turns the InvalidParameterValueException into errorcode
        # 530 (a recorded 4.x answer: jobstatus 2, jobresultcode 530, this text). Reached when the
        # NAT was released by someone else, or by an earlier, interrupted delete_vm.
        if ip.static_nat_vm_id is None:
            raise runtime_error("Specified IP address id is not associated with any vm Id")
        ip.static_nat_vm_id = ip.vm_guest_ip = None
        return {"success": True}

    return {"jobid": ctx.submit(run, None, "IpAddress", ip.id).id}


# -- load balancer rules (membership only; the CPI assigns VMs to operator-made rules) -------

@command("createLoadBalancerRule", is_async=True)
def create_lb_rule(ctx: Ctx, p: Params) -> dict[str, Any]:
    ip = ctx.entity(p, "publicipid", "publicip", required=True)
    rule = ctx.st.add("lbrule", m.LoadBalancerRule(str(uuid.uuid4()), p.req("name"), ip.id, p.req("publicport"),
                                                   p.req("privateport"), p.req("algorithm")))
    job = ctx.submit(lambda: {"loadbalancer": views.lb_rule_view(ctx.st, rule)}, None, "FirewallRule", rule.id)
    return {"id": rule.id, "jobid": job.id}


@command("deleteLoadBalancerRule", is_async=True)
def delete_lb_rule(ctx: Ctx, p: Params) -> dict[str, Any]:
    rule = ctx.entity(p, "id", "lbrule", required=True)

    def run() -> dict[str, Any]:
        rule.removed = True
        return {"success": True}

    return {"jobid": ctx.submit(run, None, "FirewallRule", rule.id).id}


@command("listLoadBalancerRules")
def list_lb_rules(ctx: Ctx, p: Params) -> dict[str, Any]:
    rules = ctx.st.live("lbrule")
    given, obj = ctx.id_filter(p, "id", "lbrule")
    if given:
        rules = [r for r in rules if obj is not None and r.id == obj.id]
    g, ip = ctx.id_filter(p, "publicipid", "publicip")
    if g:
        rules = [r for r in rules if ip is not None and r.public_ip_id == ip.id]
    g, vm = ctx.id_filter(p, "virtualmachineid", "vm")
    if g:
        rules = [r for r in rules if vm is not None and vm.id in r.vm_ids]
    return ctx.listing(p, [views.lb_rule_view(ctx.st, r) for r in rules], "loadbalancerrule")


def _lb_members(ctx: Ctx, p: Params, add: bool) -> dict[str, Any]:
    rule = ctx.entity(p, "id", "lbrule", required=True)
    vms = []
    for vid in p.list("virtualmachineids"):
        vm = ctx.st.get("vm", vid)
        if vm is None:
            raise param_error(f"Unable to find virtual machine by id {vid}")
        vms.append(vm)
    if not vms:
        raise param_error("Unable to execute API command due to missing parameter virtualmachineids")

    def run() -> dict[str, Any]:
        for vm in vms:
            if add and vm.id in rule.vm_ids:
                raise param_error(f"VM {vm.id} is already assigned to load balancer rule {rule.name}")
            if not add and vm.id not in rule.vm_ids:
                raise param_error(f"VM {vm.id} is not assigned to load balancer rule {rule.name}")
        for vm in vms:
            (rule.vm_ids.append if add else rule.vm_ids.remove)(vm.id)
        return {"success": True}

    return {"jobid": ctx.submit(run, None, "FirewallRule", rule.id).id}


@command("assignToLoadBalancerRule", is_async=True)
def assign_to_lb(ctx: Ctx, p: Params) -> dict[str, Any]:
    return _lb_members(ctx, p, True)


@command("removeFromLoadBalancerRule", is_async=True)
def remove_from_lb(ctx: Ctx, p: Params) -> dict[str, Any]:
    return _lb_members(ctx, p, False)
