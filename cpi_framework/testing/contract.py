"""The shared CPI contract suite: the whole lifecycle through the real ``cloudstack-cpi`` process.

Run it from any test module whose conftest enables the kit (``pytest_plugins =
["cpi_framework.testing"]``)::

    from cpi_framework.testing.contract import *  # noqa: F401,F403

Every test is parametrised by the ``hypervisor`` fixture (a plugin pins its own) and runs
against a fresh simulator zone of that hypervisor. Scenario numbers refer to the contract
reference (cpi-contract §6): D = VM lifecycle, F = errors, G = caller sequences. Each test
ends by checking nothing the CPI made is left behind (:func:`assert_no_leaks`).
"""

from __future__ import annotations

from typing import Any

import pytest

from .checks import (
    STEMCELL_CONTEXT,
    Cpi,
    assert_no_leaks,
    cpi_objects,
    create,
    dynamic,
    failed,
    free_ip,
    guest_disk,
    guest_settings,
    ok,
    public_ip,
    zone_network,
)
from .runner import DIRECTOR_UUID

__all__ = [
    "stemcell",
    "test_vm_and_disk_lifecycle",
    "test_create_vm_v1_shape_and_null_arguments",
    "test_manual_network_ip_reusable_at_once",
    "test_vip_static_nat",
    "test_multiple_networks_carry_each_mac",
    "test_config_drive_network_delivers_settings",
    "test_existing_disk_placement_and_reattach_after_vm_delete",
    "test_calculate_vm_cloud_properties_usable_by_create_vm",
    "test_missing_vms",
    "test_bad_network_fails_cleanly",
    "test_impossible_offering_or_zone",
    "test_transient_failure_is_retryable_and_leaves_nothing",
    "test_unimplemented_methods",
    "test_director_deploy_sequences",
    "test_create_env_delete_env_and_cck_sequences",
]

@pytest.fixture
def stemcell(cpi: Cpi, hypervisor: str) -> str:
    """A light stemcell borrowing the simulator's ready template for the zone."""
    props = {"name": f"bosh-cloudstack-{hypervisor}", "version": "1.0", "infrastructure": "cloudstack",
             "hypervisor": hypervisor, "architecture": "x86_64", "os_type": "linux",
             "light_template": f"bosh-stemcell-{hypervisor}"}
    return str(ok(cpi("create_stemcell", "/nonexistent/image", props, api_version=2)))


# -- 6.D VM lifecycle --------------------------------------------------------------------------------


def test_vm_and_disk_lifecycle(simulator: Any, cpi: Cpi, stemcell: str, hypervisor: str) -> None:
    """6.D 20-30, 36, 38: create (v2) → metadata → disk lifecycle → reboot → delete; settings as the guest sees them."""
    before = cpi_objects(simulator)
    env = {"bosh": {"group": "instance-group-1", "tags": {"team": "cpi"}, "password": "secret-hash"}}
    vm = create(cpi, stemcell, env=env)
    assert ok(cpi("has_vm", vm, api_version=2)) is True

    settings = guest_settings(simulator, vm)
    assert settings["agent_id"] == "agent-007"
    assert settings["env"] == env
    assert isinstance(settings["disks"]["system"], str) and settings["disks"]["system"]
    assert settings["mbus"] == "nats://nats:nats-password@10.0.0.6:4222"
    assert settings["ntp"] == ["0.pool.ntp.org"]
    assert settings["blobstore"]["provider"] == "dav"
    network = settings["networks"]["default"]
    vm_view = next(v for v in simulator.inventory()["virtualmachines"] if v["id"] == vm)
    assert network["type"] == "dynamic" and network["use_dhcp"] is True
    assert (network["mac"], network["ip"]) == (vm_view["nic"][0]["macaddress"], vm_view["nic"][0]["ipaddress"])
    ephemeral = guest_disk(simulator, vm, settings["disks"]["ephemeral"])
    assert ephemeral["type"] == "DATADISK" and ephemeral["size"] == 2**30
    assert guest_disk(simulator, vm, settings["disks"]["system"])["type"] == "ROOT"
    tags = {t["key"]: t["value"] for t in vm_view.get("tags", [])}
    assert tags["bosh-cpi"] == "cloudstack" and tags["bosh-role"] == "vm" and tags["team"] == "cpi"
    assert tags["bosh-director-uuid"] == DIRECTOR_UUID

    assert ok(cpi("set_vm_metadata", vm, {"deployment": "deployment", "name": "cpi_spec/instance_id",
                                          "index": 0}, api_version=2)) is None
    vm_view = next(v for v in simulator.inventory()["virtualmachines"] if v["id"] == vm)
    tags = {t["key"]: t["value"] for t in vm_view.get("tags", [])}
    assert tags["deployment"] == "deployment" and tags["index"] == "0" and tags["bosh-role"] == "vm"
    assert vm_view["displayname"] == "cpi_spec/instance_id"

    disk = ok(cpi("create_disk", 2048, {}, vm, api_version=2))
    assert ok(cpi("has_disk", disk, api_version=2)) is True
    hint = ok(cpi("attach_disk", vm, disk, api_version=2))
    assert hint and guest_disk(simulator, vm, hint)["volume_id"] == disk
    assert disk in ok(cpi("get_disks", vm, api_version=2))
    assert ok(cpi("attach_disk", vm, disk, api_version=2)) == hint  # 25: idempotent
    snapshot = ok(cpi("snapshot_disk", disk, {"deployment": "d", "job": "j", "index": 0, "director_uuid": "u"},
                      api_version=2))
    assert ok(cpi("delete_snapshot", snapshot, api_version=2)) is None
    assert ok(cpi("detach_disk", vm, disk, api_version=2)) is None
    assert disk not in ok(cpi("get_disks", vm, api_version=2))
    assert ok(cpi("resize_disk", disk, 4096, api_version=2)) is None
    assert ok(cpi("reboot_vm", vm, api_version=2)) is None
    assert ok(cpi("delete_vm", vm, api_version=2)) is None
    assert ok(cpi("has_vm", vm, api_version=2)) is False
    assert ok(cpi("delete_disk", disk, api_version=2)) is None
    assert ok(cpi("has_disk", disk, api_version=2)) is False
    assert ok(cpi("delete_stemcell", stemcell, api_version=2)) is None
    assert_no_leaks(simulator, before)


def test_create_vm_v1_shape_and_null_arguments(simulator: Any, cpi: Cpi, stemcell: str) -> None:
    """6.D 15, 37: API v1 answers a bare CID; null disk_cids/env (CLI style) and no ephemeral disk work."""
    before = cpi_objects(simulator)
    vm = create(cpi, stemcell, props={"compute_offering": "small"}, api_version=1)
    settings = guest_settings(simulator, vm)
    assert settings["env"] == {} and "ephemeral" not in settings["disks"]
    assert ok(cpi("delete_vm", vm)) is None
    assert_no_leaks(simulator, before)


def test_manual_network_ip_reusable_at_once(simulator: Any, cpi: Cpi, stemcell: str, hypervisor: str) -> None:
    """6.D 31: a manual network's IP, netmask, gateway, dns, default and prefix reach the agent; the IP is
    free again as soon as delete_vm returns (expunge), so BOSH can recreate with it."""
    network = zone_network(simulator, hypervisor)
    ip = free_ip(network)
    spec = {"type": "manual", "ip": ip, "netmask": network["netmask"], "gateway": network["gateway"],
            "dns": ["8.8.8.8", "8.8.4.4"], "default": ["dns", "gateway"], "prefix": "32",
            "cloud_properties": {"name": "bosh-net"}}
    before = cpi_objects(simulator)
    vm = create(cpi, stemcell, {"private": spec})
    got = guest_settings(simulator, vm)["networks"]["private"]
    assert (got["ip"], got["netmask"], got["gateway"]) == (ip, network["netmask"], network["gateway"])
    assert got["dns"] == ["8.8.8.8", "8.8.4.4"] and got["default"] == ["dns", "gateway"] and got["prefix"] == "32"
    assert got["type"] == "manual" and got["mac"]
    ok(cpi("delete_vm", vm))
    again = create(cpi, stemcell, {"private": spec})
    ok(cpi("delete_vm", again))
    assert_no_leaks(simulator, before)


def test_vip_static_nat(simulator: Any, cpi: Cpi, stemcell: str, hypervisor: str) -> None:
    """6.D 32: a vip network is static NAT of an already-acquired public IP; delete_vm releases it."""
    vip = public_ip(simulator, hypervisor)
    before = cpi_objects(simulator)
    vm = create(cpi, stemcell, {"default": dynamic(default=["dns", "gateway"]), "public": {"type": "vip", "ip": vip}})
    ip = next(i for i in simulator.inventory()["publicips"] if i["ipaddress"] == vip)
    assert ip.get("isstaticnat") and ip.get("virtualmachineid") == vm
    assert guest_settings(simulator, vm)["networks"]["public"] == {"type": "vip", "ip": vip, "cloud_properties": {}}
    ok(cpi("delete_vm", vm))
    again = create(cpi, stemcell, {"default": dynamic(), "public": {"type": "vip", "ip": vip}})
    ok(cpi("delete_vm", again))
    assert_no_leaks(simulator, before)


def test_multiple_networks_carry_each_mac(simulator: Any, cpi: Cpi, stemcell: str, hypervisor: str) -> None:
    """6.D 33: two manual networks: each network's settings carry its own NIC's MAC; the default-gateway
    network is eth0 (first NIC) so the metadata proxy finds its router."""
    first, second = zone_network(simulator, hypervisor, "bosh-net"), zone_network(simulator, hypervisor, "bosh-net-2")
    networks = {
        "a-second": {"type": "manual", "ip": free_ip(second, 60), "netmask": second["netmask"],
                     "gateway": second["gateway"], "cloud_properties": {"name": "bosh-net-2"}},
        "b-first": {"type": "manual", "ip": free_ip(first, 60), "netmask": first["netmask"],
                    "gateway": first["gateway"], "default": ["dns", "gateway"],
                    "cloud_properties": {"name": "bosh-net"}},
    }
    before = cpi_objects(simulator)
    vm = create(cpi, stemcell, networks)
    settings = guest_settings(simulator, vm)["networks"]
    view = next(v for v in simulator.inventory()["virtualmachines"] if v["id"] == vm)
    nics = {n["ipaddress"]: n for n in view["nic"]}
    for name, spec in networks.items():
        assert settings[name]["mac"] == nics[spec["ip"]]["macaddress"]
    assert nics[networks["b-first"]["ip"]]["isdefault"] is True
    assert len({s["mac"] for s in settings.values()}) == 2
    ok(cpi("delete_vm", vm))
    assert_no_leaks(simulator, before)


def test_config_drive_network_delivers_settings(simulator: Any, cpi: Cpi, stemcell: str, hypervisor: str) -> None:
    """Where the zone has a ConfigDrive network, the settings reach the guest through ``config-2``."""
    zone_network(simulator, hypervisor, "bosh-cd-net")
    before = cpi_objects(simulator)
    vm = create(cpi, stemcell, {"default": dynamic("bosh-cd-net")})
    view = simulator.guest_view(vm)
    assert view.get("config_drive"), "no ConfigDrive on a ConfigDrive network"
    settings = guest_settings(simulator, vm)
    assert settings["agent_id"] == "agent-007" and settings["networks"]["default"]["mac"]
    ok(cpi("delete_vm", vm))
    assert_no_leaks(simulator, before)


def test_existing_disk_placement_and_reattach_after_vm_delete(simulator: Any, cpi: Cpi, stemcell: str) -> None:
    """6.D 34, 35: a disk attached to a VM survives delete_vm (detached, kept) and attaches to the VM
    created with ``disk_cids=[disk]``."""
    before = cpi_objects(simulator)
    vm1 = create(cpi, stemcell)
    disk = ok(cpi("create_disk", 2048, {}, vm1, api_version=2))
    ok(cpi("attach_disk", vm1, disk, api_version=2))
    ok(cpi("delete_vm", vm1, context=STEMCELL_CONTEXT, api_version=2))
    assert ok(cpi("has_disk", disk, api_version=2)) is True
    vm2 = create(cpi, stemcell, disk_cids=[disk])
    hint = ok(cpi("attach_disk", vm2, disk, api_version=2))
    assert guest_disk(simulator, vm2, hint)["volume_id"] == disk
    assert disk in ok(cpi("get_disks", vm2, api_version=2))
    ok(cpi("delete_vm", vm2))
    ok(cpi("delete_disk", disk))
    assert_no_leaks(simulator, before)


def test_calculate_vm_cloud_properties_usable_by_create_vm(simulator: Any, cpi: Cpi, stemcell: str) -> None:
    """6.D 39: the answer carries every key create_vm needs, including the ephemeral ``disk``."""
    props = ok(cpi("calculate_vm_cloud_properties", {"cpu": 1, "ram": 512, "ephemeral_disk_size": 2048},
                   api_version=2))
    assert props["compute_offering"] and props["disk"] == 2048 and props["ephemeral_disk_offering"]
    before = cpi_objects(simulator)
    vm = create(cpi, stemcell, props=props)
    ok(cpi("delete_vm", vm))
    assert_no_leaks(simulator, before)


# -- 6.F errors ----------------------------------------------------------------------------------------


def test_missing_vms(cpi: Cpi) -> None:
    """6.F 45, 48: unknown, malformed and seed-style CIDs: delete_vm → VMNotFound, has_vm → false."""
    for cid in ("6b1e3a42-0000-4000-8000-000000000000", "cpivm-00000000-0000-0000-0000-000000000000", "garbage"):
        failed(cpi("delete_vm", cid, api_version=2), "Bosh::Clouds::VMNotFound")
        assert ok(cpi("has_vm", cid, api_version=2)) is False
    failed(cpi("reboot_vm", "6b1e3a42-0000-4000-8000-000000000000", api_version=2), "Bosh::Clouds::VMNotFound")


def test_bad_network_fails_cleanly(simulator: Any, cpi: Cpi, stemcell: str) -> None:
    """6.F 49: an unknown network → VMCreationFailed naming it, not retryable, nothing left."""
    before = cpi_objects(simulator)
    response = cpi("create_vm", "agent", stemcell, {"compute_offering": "small", "disk": 1024},
                   {"default": dynamic("no-such-net")}, None, None, api_version=2)
    error = failed(response, "Bosh::Clouds::VMCreationFailed")
    assert "no-such-net" in error["message"] and error["ok_to_retry"] is False
    assert_no_leaks(simulator, before)


def test_impossible_offering_or_zone(simulator: Any, cpi: Cpi, stemcell: str) -> None:
    """6.F 50: an impossible flavour or AZ → an error naming the key and value, with a log."""
    for props, needle in (({"compute_offering": "no-such-offering"}, "no-such-offering"),
                          ({"compute_offering": "small", "zone": "no-such-zone"}, "no-such-zone")):
        response = cpi("create_vm", "agent", stemcell, props, {"default": dynamic()}, None, None, api_version=2)
        error = failed(response, "Bosh::Clouds::VMCreationFailed")
        assert needle in error["message"] and response.log


def test_transient_failure_is_retryable_and_leaves_nothing(simulator: Any, cpi: Cpi, stemcell: str) -> None:
    """6.F 51: a capacity failure of the deploy job → VMCreationFailed(ok_to_retry) after cleanup; the
    identical retry succeeds and leaves exactly one VM."""
    before = cpi_objects(simulator)
    simulator.faults.fail_jobs("deployVirtualMachine", errorcode=533,
                               errortext="Insufficient capacity to deploy: no host has enough memory")
    args = ("agent-retry", stemcell, {"compute_offering": "small", "disk": 1024}, {"default": dynamic()}, None, None)
    error = failed(cpi("create_vm", *args, api_version=2), "Bosh::Clouds::VMCreationFailed")
    assert error["ok_to_retry"] is True and "deployVirtualMachine" in error["message"]
    assert_no_leaks(simulator, before)
    vm = ok(cpi("create_vm", *args, api_version=2))[0]
    assert cpi_objects(simulator)["vms"] - before["vms"] == {vm}
    ok(cpi("delete_vm", vm))
    assert_no_leaks(simulator, before)


def test_unimplemented_methods(cpi: Cpi) -> None:
    """6.F 52: optional methods this CPI does not offer answer exactly Bosh::Clouds::NotImplemented."""
    failed(cpi("current_vm_id", api_version=2), "Bosh::Clouds::NotImplemented")
    failed(cpi("create_network", {"type": "manual"}, api_version=2), "Bosh::Clouds::NotImplemented")


# -- 6.G caller sequences ---------------------------------------------------------------------------------


def test_director_deploy_sequences(simulator: Any, cpi: Cpi, stemcell: str, hypervisor: str) -> None:
    """6.G 53, 54: compilation VMs, an instance with a persistent disk, then a recreate with a new IP."""
    before = cpi_objects(simulator)
    network = zone_network(simulator, hypervisor)
    director = {"director_uuid": DIRECTOR_UUID, "request_id": "cpi-100001"}
    for package in ("pkg-a",):  # the director repeats this pair per package; once covers the calls
        ok(cpi("info", context=director))
        compile_vm = create(cpi, stemcell, agent_id=f"compile-{package}")
        job = f"compilation-{package}"
        ok(cpi("set_vm_metadata", compile_vm, {"director": "d", "deployment": "dep", "job": job, "index": "0",
                                               "name": f"{job}/0", "created_at": "2026-01-01T00:00:00Z"},
               api_version=2, context=director))
        ok(cpi("set_vm_metadata", compile_vm, {"director": "d", "deployment": "dep", "job": job, "index": "0",
                                               "name": f"{job}/0", "compiling": package},
               api_version=2, context=director))
        ok(cpi("delete_vm", compile_vm, api_version=2, context=STEMCELL_CONTEXT))

    def manual(offset: int) -> dict[str, Any]:
        return {"default": {"type": "manual", "ip": free_ip(network, offset), "netmask": network["netmask"],
                            "gateway": network["gateway"], "default": ["dns", "gateway"],
                            "cloud_properties": {"name": "bosh-net"}}}

    vm = create(cpi, stemcell, manual(70), agent_id="instance-agent")
    ok(cpi("set_vm_metadata", vm, {"deployment": "dep", "job": "web", "index": "0", "name": "web/abc"},
           api_version=2, context=director))
    disk = ok(cpi("create_disk", 1024, {}, vm, api_version=2, context=director))
    ok(cpi("attach_disk", vm, disk, api_version=2, context=STEMCELL_CONTEXT))
    ok(cpi("set_disk_metadata", disk, {"deployment": "dep", "instance_id": "abc", "instance_index": "0"},
           api_version=2, context=director))
    # redeploy with a new IP: snapshot, detach, delete, create with the disk, attach again
    snapshot = ok(cpi("snapshot_disk", disk, {"deployment": "dep", "job": "web", "index": 0}, api_version=2,
                      context=director))
    ok(cpi("detach_disk", vm, disk, api_version=2, context=STEMCELL_CONTEXT))
    ok(cpi("delete_vm", vm, api_version=2, context=STEMCELL_CONTEXT))
    vm = create(cpi, stemcell, manual(71), disk_cids=[disk], agent_id="instance-agent")
    ok(cpi("set_vm_metadata", vm, {"deployment": "dep", "job": "web", "index": "0", "name": "web/abc"},
           api_version=2, context=director))
    hint = ok(cpi("attach_disk", vm, disk, api_version=2, context=STEMCELL_CONTEXT))
    assert guest_disk(simulator, vm, hint)["volume_id"] == disk
    ok(cpi("set_disk_metadata", disk, {"deployment": "dep"}, api_version=2, context=director))
    ok(cpi("delete_vm", vm, api_version=2, context=STEMCELL_CONTEXT))
    ok(cpi("delete_disk", disk, api_version=2, context=director))
    ok(cpi("delete_snapshot", snapshot, api_version=2, context=director))
    assert_no_leaks(simulator, before)


def test_create_env_delete_env_and_cck_sequences(simulator: Any, cpi: Cpi, stemcell: str) -> None:
    """6.G 55-57: create-env (v2, CLI context), a disk migration, cck recreate/reboot, then delete-env."""
    cli = {"director_uuid": DIRECTOR_UUID, "vm": {"stemcell": {"api_version": 3}}}
    before = cpi_objects(simulator)

    def call(method: str, *args: Any) -> Any:
        return ok(cpi(method, *args, api_version=2, context=cli))

    # the CLI calls info (v1) before every call; once is enough to check the negotiation
    assert ok(cpi("info", api_version=1, context=cli))["api_version"] >= 2

    props = {"compute_offering": "small", "disk": 1024}
    vm = call("create_vm", "bosh-agent", stemcell, props, {"default": dynamic(default=["dns", "gateway"])}, None,
              {"bosh": {"password": "x"}})[0]
    call("set_vm_metadata", vm, {"deployment": "bosh", "job": "bosh", "index": "0", "director": "bosh-init"})
    old_disk = call("create_disk", 1024, {}, vm)
    call("attach_disk", vm, old_disk)
    call("set_disk_metadata", old_disk, {"deployment": "bosh"})
    # disk migration to a bigger disk
    new_disk = call("create_disk", 2048, {}, vm)
    call("attach_disk", vm, new_disk)
    call("detach_disk", vm, old_disk)
    call("delete_disk", old_disk)
    # cck: reboot, then recreate (delete + create with the disk + attach), reattach a known disk
    call("reboot_vm", vm)
    assert call("has_vm", vm) is True
    call("delete_vm", vm)
    vm = call("create_vm", "bosh-agent", stemcell, props, {"default": dynamic()}, [new_disk], None)[0]
    call("attach_disk", vm, new_disk)
    call("attach_disk", vm, new_disk)
    # redeploy by create-env: has_vm, delete_vm (VMNotFound tolerated on a second try)
    assert call("has_vm", vm) is True
    call("delete_vm", vm)
    failed(cpi("delete_vm", vm, api_version=2, context=cli), "Bosh::Clouds::VMNotFound")
    # delete-env
    assert call("has_vm", vm) is False
    call("delete_disk", new_disk)
    call("delete_stemcell", stemcell)
    assert_no_leaks(simulator, before)
