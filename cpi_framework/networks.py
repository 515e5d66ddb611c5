"""BOSH networks → CloudStack NICs, agent network settings, static NAT and load balancers.

NIC order matters: the CloudStack stemcell's metadata proxy (mdproxy4cs) asks the DHCP server
of **eth0** for the user-data, so the first NIC must be on a network whose virtual router
serves it. ``iptonetworklist`` creates NICs in index order, the first one
being CloudStack's default NIC.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cpi_framework.errors import CloudError, CpiError
from cpi_framework.services import catalog

if TYPE_CHECKING:
    from cpi_framework.context import CallContext


@dataclass
class Nic:
    """One manual/dynamic BOSH network and the CloudStack network its NIC goes on."""

    name: str
    spec: dict[str, Any]
    network: dict[str, Any]

    @property
    def ip(self) -> str | None:
        return self.spec["ip"] if self.spec["type"] == "manual" else None


def serves_user_data(network: dict[str, Any]) -> bool:
    """True when the network's offering has the UserData service (virtual router or ConfigDrive).

    A network listed without its services is assumed to serve (we cannot tell otherwise).
    """
    services = network.get("service")
    if not isinstance(services, list):
        return True
    return any(isinstance(s, dict) and s.get("name") == "UserData" for s in services)


def _has_default_gateway(spec: dict[str, Any]) -> bool:
    return "gateway" in (spec.get("default") or [])


def plan_nics(ctx: CallContext, zone_id: str, networks: dict[str, dict[str, Any]]) -> list[Nic]:
    """Resolve each manual/dynamic network by name in the zone and order them for eth0.

    Order: networks marked ``undiscoverable`` last; then those serving user-data; then the one
    holding the default gateway; then by BOSH network name (stable, unlike the Java CloudStack CPI's HashMap order).
    """
    nics = []
    seen: dict[str, str] = {}
    for name, spec in networks.items():
        if spec["type"] == "vip":
            continue
        cs_name = spec["cloud_properties"]["name"]
        try:
            network = catalog.network(ctx, zone_id, cs_name)
        except CloudError as exc:
            raise CloudError(f"networks.{name}.cloud_properties.name = '{cs_name}': {exc.message}") from None
        if network["id"] in seen:
            raise CpiError(f"Invalid networks: '{seen[network['id']]}' and '{name}' both use CloudStack network "
                           f"'{cs_name}'; a VM has one NIC per network")
        seen[network["id"]] = name
        nics.append(Nic(name, spec, network))
    nics.sort(key=lambda n: (bool(n.spec["cloud_properties"].get("undiscoverable")), not serves_user_data(n.network),
                             not _has_default_gateway(n.spec), n.name))
    if nics and not serves_user_data(nics[0].network):
        # The server refuses a key-pair deploy when the default NIC's network lacks UserData
        # (UserVmManagerImpl.createVirtualMachine) and answers updateVirtualMachine userdata with 530
        # "Failed to reset userdata…" when no NIC has it: fail before creating anything.
        names = ", ".join(f"networks.{n.name}.cloud_properties.name = '{n.network.get('name')}'" for n in nics)
        raise CpiError(
            f"Invalid networks: no network of this VM offers CloudStack's UserData service ({names}), so the "
            "agent could not receive its settings and CloudStack refuses a key-pair deploy there; use a network "
            "whose offering includes UserData (VirtualRouter or ConfigDrive provider)"
        )
    return nics


def ip_to_network_list(nics: list[Nic]) -> list[dict[str, str]]:
    """``iptonetworklist`` entries: manual networks with their IP, dynamic ones without."""
    entries = []
    for nic in nics:
        entry = {"networkid": str(nic.network["id"])}
        if nic.ip:
            entry["ip"] = nic.ip
        entries.append(entry)
    return entries


def _vm_nic(vm: dict[str, Any], network_id: str) -> dict[str, Any] | None:
    return next((n for n in vm.get("nic") or [] if n.get("networkid") == network_id), None)


def _routes(ctx: CallContext, name: str, spec: dict[str, Any], routes: dict[str, list[dict[str, Any]]],
            gateway: str | None) -> list[dict[str, str]]:
    result = list(spec.get("routes") or [])
    for route in routes.get(name, []):
        try:
            net = ipaddress.ip_network(route["cidr"], strict=False)
        except ValueError:
            raise CpiError(f"Invalid cloud_properties.routes.{name}: malformed cidr '{route['cidr']}'") from None
        via = route.get("gateway") or gateway
        if not via:
            raise CpiError(f"Invalid cloud_properties.routes.{name}: no gateway for {route['cidr']} and the "
                           "network has none")
        result.append({"Destination": str(net.network_address), "Gateway": via, "Netmask": str(net.netmask)})
    return result


def settings_networks(
    ctx: CallContext,
    vm: dict[str, Any],
    nics: list[Nic],
    networks: dict[str, dict[str, Any]],
    routes: dict[str, list[dict[str, Any]]],
) -> dict[str, dict[str, Any]]:
    """The agent's ``networks``: each NIC's MAC, IP/netmask/gateway as CloudStack assigned them.

    ``use_dhcp`` is true for dynamic networks and ``cpi.use_dhcp`` for manual ones; a ``routes``
    cloud property (Go CPI: ``{<network>: [{cidr, gateway}]}``) becomes agent routes. When no
    network is marked ``default``, the eth0 network gets ``["dns", "gateway"]``.
    """
    unknown = sorted(set(routes) - set(networks))
    if unknown:
        raise CpiError(f"Invalid cloud_properties.routes: unknown network(s) {', '.join(unknown)}")
    result: dict[str, dict[str, Any]] = {}
    for index, nic in enumerate(nics):
        spec = nic.spec
        cs_nic = _vm_nic(vm, str(nic.network["id"]))
        if cs_nic is None:
            raise CloudError(f"VM {vm.get('id')} has no NIC on network '{nic.network.get('name')}'")
        entry: dict[str, Any] = {"type": spec["type"]}
        entry["ip"] = spec["ip"] if spec["type"] == "manual" else cs_nic.get("ipaddress")
        entry["netmask"] = spec.get("netmask") or cs_nic.get("netmask")
        entry["gateway"] = spec.get("gateway") or cs_nic.get("gateway")
        if spec.get("dns"):
            entry["dns"] = list(spec["dns"])
        if spec.get("default") is not None:
            entry["default"] = list(spec["default"])
        if spec.get("prefix") is not None:
            entry["prefix"] = spec["prefix"]
        entry["mac"] = cs_nic.get("macaddress")
        entry["use_dhcp"] = True if spec["type"] == "dynamic" else bool(ctx.config.cpi.use_dhcp)
        entry["routes"] = _routes(ctx, nic.name, spec, routes, entry["gateway"])
        entry["cloud_properties"] = dict(spec["raw"].get("cloud_properties") or {})
        if index == 0 and not any(s.get("default") for s in networks.values()):
            entry["default"] = ["dns", "gateway"]
        result[nic.name] = entry
    for name, spec in networks.items():
        if spec["type"] == "vip":
            result[name] = {"type": "vip", "ip": spec["ip"], "cloud_properties": dict(spec["raw"].get(
                "cloud_properties") or {})}
    return result


# -- vip: static NAT on an already-acquired public IP ---------------------------------------------


def attach_vip(ctx: CallContext, vm: dict[str, Any], zone_id: str, name: str, spec: dict[str, Any]) -> None:
    """Point the public IP at this VM with static NAT (the IP must already belong to the account).

    An IP still NATed to another VM is moved (OpenStack's floating-IP reassignment; the old VM
    is normally gone already). The guest network is the vip's ``cloud_properties.name``, else the
    IP's associated network when the VM has a NIC there, else the VM's default NIC's network.
    """
    address = spec["ip"]
    found = [ip for ip in ctx.client.list("listPublicIpAddresses", {"ipaddress": address, "zoneid": zone_id,
                                                                    "listall": True})
             if ip.get("ipaddress") == address]
    if not found:
        raise CloudError(f"networks.{name}.ip = '{address}': no such public IP is allocated to this account in "
                         "the VM's zone; acquire it first (associateIpAddress)")
    public = found[0]
    network_id = _vip_network_id(ctx, vm, zone_id, spec, public)
    if public.get("isstaticnat") and public.get("virtualmachineid"):
        if public["virtualmachineid"] == vm["id"]:
            return
        ctx.log.warning("public IP %s is NATed to VM %s; moving it to VM %s", address, public["virtualmachineid"],
                        vm["id"])
        ctx.client.call_async("disableStaticNat", {"ipaddressid": public["id"]}, timeout=ctx.timeout("create_vm"),
                              operation="create_vm")
    ctx.client.call("enableStaticNat", {"ipaddressid": public["id"], "virtualmachineid": vm["id"],
                                        "networkid": network_id})
    ctx.log.info("static NAT %s → VM %s", address, vm["id"])


def _vip_network_id(ctx: CallContext, vm: dict[str, Any], zone_id: str, spec: dict[str, Any],
                    public: dict[str, Any]) -> str:
    wanted = spec["cloud_properties"].get("name")
    if wanted:
        return str(catalog.network(ctx, zone_id, wanted)["id"])
    associated = public.get("associatednetworkid")
    if associated and _vm_nic(vm, associated) is not None:
        return str(associated)
    default = next((n for n in vm.get("nic") or [] if n.get("isdefault")), None) or (vm.get("nic") or [{}])[0]
    return str(default.get("networkid"))


# -- load balancers (Go CPI ``lbs``) ---------------------------------------------------------------


def join_load_balancers(ctx: CallContext, vm: dict[str, Any], zone_id: str, names: list[str]) -> None:
    """Add the VM to existing load-balancer rules by exact name (rules are the operator's to create)."""
    for name in names:
        rules = ctx.client.find_by_name("listLoadBalancerRules", name, {"zoneid": zone_id, "listall": True})
        if len(rules) != 1:
            what = "no" if not rules else f"{len(rules)}"
            raise CloudError(f"cloud_properties.lbs: {what} load balancer rule named '{name}' in the VM's zone")
        ctx.client.call_async("assignToLoadBalancerRule", {"id": rules[0]["id"], "virtualmachineids": vm["id"]},
                              timeout=ctx.timeout("create_vm"), operation="create_vm")
        ctx.log.info("VM %s joined load balancer rule '%s'", vm["id"], name)
