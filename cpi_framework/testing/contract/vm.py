"""Contract 6.D, VMs: create_vm answers and settings as the guest reads them, networks, metadata.

Every test shares the module's simulator and stemcell, so it compares the CPI's objects before
and after (:func:`assert_no_leaks`) rather than expecting an empty cloud.
"""

from __future__ import annotations

from typing import Any

from ..checks import (
    Cpi,
    Resolver,
    assert_no_leaks,
    cpi_objects,
    create,
    dynamic,
    free_ip,
    guest_disk,
    guest_settings,
    ok,
    public_ip,
    system_disk,
    tags_of,
    vm_view,
    zone_network,
)
from ..runner import DIRECTOR_UUID

__all__ = [
    "test_vm_lifecycle",
    "test_manual_and_vip_networks_free_at_once",
    "test_multiple_networks_v1_and_null_arguments",
    "test_config_drive_network_delivers_settings",
]


def test_vm_lifecycle(shared_simulator: Any, shared_cpi: Cpi, shared_stemcell: str, agent_resolver: Resolver) -> None:
    """6.D 20-22, 29, 30, 36, 38: create (v2) → settings as the guest reads them → has_vm → metadata →
    reboot → delete → has_vm false; the ephemeral hint resolves, as the agent would, to the VM's data volume."""
    sim, cpi = shared_simulator, shared_cpi
    before = cpi_objects(sim)
    env = {"bosh": {"group": "instance-group-1", "tags": {"team": "cpi"}, "password": "secret-hash"}}
    vm = create(cpi, shared_stemcell, env=env)
    assert ok(cpi("has_vm", vm, api_version=2)) is True

    settings = guest_settings(sim, vm)
    assert settings["agent_id"] == "agent-007"
    assert settings["env"] == env
    assert isinstance(settings["disks"]["system"], str) and settings["disks"]["system"]
    assert settings["mbus"] == "nats://nats:nats-password@10.0.0.6:4222"
    assert settings["ntp"] == ["0.pool.ntp.org"]
    assert settings["blobstore"]["provider"] == "dav"
    network, view = settings["networks"]["default"], vm_view(sim, vm)
    assert network["type"] == "dynamic" and network["use_dhcp"] is True
    assert (network["mac"], network["ip"]) == (view["nic"][0]["macaddress"], view["nic"][0]["ipaddress"])
    ephemeral = guest_disk(sim, vm, settings["disks"]["ephemeral"], resolver=agent_resolver)
    assert ephemeral["type"] == "DATADISK" and ephemeral["size"] == 2**30
    assert ephemeral["volume_id"] in cpi_objects(sim)["volumes"] - before["volumes"]
    assert system_disk(sim, vm, settings["disks"]["system"])["type"] == "ROOT"
    tags = tags_of(view)
    assert tags["bosh-cpi"] == "cloudstack" and tags["bosh-role"] == "vm" and tags["team"] == "cpi"
    assert tags["bosh-director-uuid"] == DIRECTOR_UUID

    assert ok(cpi("set_vm_metadata", vm, {"deployment": "deployment", "name": "cpi_spec/instance_id",
                                          "index": 0}, api_version=2)) is None
    view = vm_view(sim, vm)
    tags = tags_of(view)
    assert tags["deployment"] == "deployment" and tags["index"] == "0" and tags["bosh-role"] == "vm"
    assert view["displayname"] == "cpi_spec/instance_id"

    assert ok(cpi("reboot_vm", vm, api_version=2)) is None
    assert ok(cpi("delete_vm", vm, api_version=2)) is None
    assert ok(cpi("has_vm", vm, api_version=2)) is False
    assert_no_leaks(sim, before)


def test_manual_and_vip_networks_free_at_once(shared_simulator: Any, shared_cpi: Cpi, shared_stemcell: str,
                                              hypervisor: str) -> None:
    """6.D 31, 32: a manual network's IP, netmask, gateway, dns, default and prefix reach the agent; a vip
    network is static NAT of an already-acquired public IP. Both are free again as soon as delete_vm
    returns (expunge, NAT released), so BOSH recreates the VM with the same addresses at once."""
    sim, cpi = shared_simulator, shared_cpi
    network = zone_network(sim, hypervisor)
    ip, vip = free_ip(network), public_ip(sim, hypervisor)
    spec = {"type": "manual", "ip": ip, "netmask": network["netmask"], "gateway": network["gateway"],
            "dns": ["8.8.8.8", "8.8.4.4"], "default": ["dns", "gateway"], "prefix": "32",
            "cloud_properties": {"name": "bosh-net"}}
    networks = {"private": spec, "public": {"type": "vip", "ip": vip}}
    before = cpi_objects(sim)
    for _ in range(2):  # the second VM reuses both addresses right after the first one's delete_vm
        vm = create(cpi, shared_stemcell, networks)
        got = guest_settings(sim, vm)["networks"]
        private = got["private"]
        assert (private["ip"], private["netmask"], private["gateway"]) == (ip, network["netmask"], network["gateway"])
        assert private["dns"] == ["8.8.8.8", "8.8.4.4"] and private["default"] == ["dns", "gateway"]
        assert private["prefix"] == "32" and private["type"] == "manual" and private["mac"]
        assert got["public"] == {"type": "vip", "ip": vip, "cloud_properties": {}}
        nat = next(i for i in sim.inventory()["publicips"] if i["ipaddress"] == vip)
        assert nat.get("isstaticnat") and nat.get("virtualmachineid") == vm
        ok(cpi("delete_vm", vm))
    assert_no_leaks(sim, before)


def test_multiple_networks_v1_and_null_arguments(shared_simulator: Any, shared_cpi: Cpi, shared_stemcell: str,
                                                 hypervisor: str) -> None:
    """6.D 33: two manual networks: each network's settings carry its own NIC's MAC; the default-gateway
    network is eth0 (first NIC) so the metadata proxy finds its router. The same call covers 6.D 15, 37:
    API v1 answers a bare CID; null disk_cids/env (CLI style) and no ephemeral ``disk`` work."""
    sim = shared_simulator
    first, second = zone_network(sim, hypervisor, "bosh-net"), zone_network(sim, hypervisor, "bosh-net-2")
    networks = {
        "a-second": {"type": "manual", "ip": free_ip(second, 60), "netmask": second["netmask"],
                     "gateway": second["gateway"], "cloud_properties": {"name": "bosh-net-2"}},
        "b-first": {"type": "manual", "ip": free_ip(first, 60), "netmask": first["netmask"],
                    "gateway": first["gateway"], "default": ["dns", "gateway"],
                    "cloud_properties": {"name": "bosh-net"}},
    }
    before = cpi_objects(sim)
    vm = create(shared_cpi, shared_stemcell, networks, props={"compute_offering": "small"}, api_version=1)
    received = guest_settings(sim, vm)
    assert received["env"] == {} and "ephemeral" not in received["disks"]
    settings = received["networks"]
    view = vm_view(sim, vm)
    nics = {n["ipaddress"]: n for n in view["nic"]}
    for name, spec in networks.items():
        assert settings[name]["mac"] == nics[spec["ip"]]["macaddress"]
    assert nics[networks["b-first"]["ip"]]["isdefault"] is True
    assert view["nic"][0]["ipaddress"] == networks["b-first"]["ip"]
    assert len({s["mac"] for s in settings.values()}) == 2
    ok(shared_cpi("delete_vm", vm))
    assert_no_leaks(sim, before)


def test_config_drive_network_delivers_settings(shared_simulator: Any, shared_cpi: Cpi, shared_stemcell: str,
                                                hypervisor: str) -> None:
    """Where the zone has a ConfigDrive network, the settings reach the guest through ``config-2``."""
    sim = shared_simulator
    zone_network(sim, hypervisor, "bosh-cd-net")
    before = cpi_objects(sim)
    vm = create(shared_cpi, shared_stemcell, {"default": dynamic("bosh-cd-net")})
    view = sim.guest_view(vm)
    assert view.get("config_drive"), "no ConfigDrive on a ConfigDrive network"
    settings = guest_settings(sim, vm)
    assert settings["agent_id"] == "agent-007" and settings["networks"]["default"]["mac"]
    ok(shared_cpi("delete_vm", vm))
    assert_no_leaks(sim, before)
