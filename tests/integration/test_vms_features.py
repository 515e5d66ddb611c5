"""VM features beyond the shared contract: registry (API v1), bad input, earlier CPIs' CIDs, API cost,
cloud_properties."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from vm_support import api, make_lb_rule, template_id

from cpi_framework.testing import DIRECTOR_UUID, contract, make_cpi_config, run_cpi
from cpi_framework.testing.checks import assert_no_leaks, cpi_objects, dynamic, failed, guest_settings, ok

light_stemcell = contract.stemcell  # the contract suite's ``stemcell`` fixture
NET = {"default": dynamic()}
OLD_STEMCELL = {"director_uuid": DIRECTOR_UUID, "vm": {"stemcell": {"api_version": 1}}}


@pytest.fixture(scope="session")
def hypervisor() -> str:
    return "xen"


# -- API v1 and the registry ---------------------------------------------------------------------------


def test_old_stemcell_settings_go_to_the_registry(simulator: Any, registry: Any, tmp_path: Path,
                                                   light_stemcell: str) -> None:
    config = make_cpi_config(simulator, "xen", tmp_path, cpi={"registry": {
        "endpoint": registry.endpoint, "user": registry.user, "password": registry.password}})
    vm = ok(run_cpi(config, "create_vm", "agent-v1", light_stemcell, {"compute_offering": "small"}, NET, [], {},
                    api_version=1, context=OLD_STEMCELL))
    assert isinstance(vm, str)
    stored = json.loads(registry.settings[vm])
    assert stored["agent_id"] == "agent-v1" and stored["disks"]["persistent"] == {}
    pointer = guest_settings(simulator, vm)
    assert pointer["server"] == {"name": vm}
    assert pointer["registry"]["endpoint"].startswith("http://") and registry.user in pointer["registry"]["endpoint"]
    disk = ok(run_cpi(config, "create_disk", 1024, {}, vm, api_version=1, context=OLD_STEMCELL))
    ok(run_cpi(config, "attach_disk", vm, disk, api_version=1, context=OLD_STEMCELL))
    assert disk in json.loads(registry.settings[vm])["disks"]["persistent"]
    ok(run_cpi(config, "detach_disk", vm, disk, api_version=1, context=OLD_STEMCELL))
    assert disk not in json.loads(registry.settings[vm])["disks"]["persistent"]
    ok(run_cpi(config, "delete_disk", disk, api_version=1, context=OLD_STEMCELL))
    response = run_cpi(config, "delete_vm", vm, api_version=1, context=OLD_STEMCELL)
    ok(response)
    assert vm not in registry.settings
    assert registry.password not in response.log


def test_old_stemcell_without_registry_is_a_clear_cloud_error(simulator: Any, cpi: Any, light_stemcell: str) -> None:
    before = cpi_objects(simulator)
    error = failed(cpi("create_vm", "agent", light_stemcell, {"compute_offering": "small"}, NET, [], {},
                       api_version=1, context=OLD_STEMCELL), "Bosh::Clouds::CloudError")
    assert "registry" in error["message"] and "cpi.registry.endpoint" in error["message"]
    assert_no_leaks(simulator, before)


def test_v1_without_stemcell_version_and_no_registry_inlines_settings(simulator: Any, cpi: Any,
                                                                       light_stemcell: str) -> None:
    vm = ok(cpi("create_vm", "agent", light_stemcell, {"compute_offering": "small"}, NET, None, None, api_version=1))
    assert guest_settings(simulator, vm)["agent_id"] == "agent"
    ok(cpi("delete_vm", vm))


def test_missing_mbus_and_blobstore_are_logged_unless_the_env_supplies_them(simulator: Any, cpi: Any, tmp_path: Path,
                                                                             light_stemcell: str) -> None:
    """issue 19 item 5: the agent prefers env.bosh.mbus.urls/blobstores, so either source is enough."""
    config = make_cpi_config(simulator, "xen", tmp_path, cpi={"agent": {"mbus": None}, "blobstore": {"provider": None}})
    bare = cpi("create_vm", "agent", light_stemcell, {"compute_offering": "small"}, NET, None, {}, config=config)
    vm = ok(bare)
    assert "agent settings carry no mbus" in bare.log and "agent settings carry no blobstore" in bare.log
    assert "mbus" not in guest_settings(simulator, vm) and "blobstore" not in guest_settings(simulator, vm)
    ok(cpi("delete_vm", vm, config=config))
    env = {"bosh": {"mbus": {"urls": ["nats://10.0.0.6:4222"]}, "blobstores": [{"provider": "dav", "options": {}}]}}
    supplied = cpi("create_vm", "agent", light_stemcell, {"compute_offering": "small"}, NET, None, env, config=config)
    vm = ok(supplied)
    assert "carry no" not in supplied.log
    ok(cpi("delete_vm", vm, config=config))


# -- bad input ------------------------------------------------------------------------------------------

BAD_INPUT = [
    ({}, NET, "Bosh::Clouds::CpiError", "compute_offering"),
    ({"compute_offering": "small", "cpu": "two"}, NET, "Bosh::Clouds::CpiError", "cloud_properties.cpu"),
    ({"compute_offering": "small", "disk": -1}, NET, "Bosh::Clouds::CpiError", "cloud_properties.disk"),
    ({"compute_offering": "nope"}, NET, "Bosh::Clouds::VMCreationFailed", "'nope'"),
    ({"compute_offering": "custom"}, NET, "Bosh::Clouds::CpiError", "customised"),
    ({"compute_offering": "small", "zone": "zone-nowhere"}, NET, "Bosh::Clouds::VMCreationFailed", "zone-nowhere"),
    ({"compute_offering": "small"}, {"default": dynamic("net-nowhere")}, "Bosh::Clouds::VMCreationFailed",
     "net-nowhere"),
    ({"compute_offering": "small"}, {"m": {"type": "manual", "cloud_properties": {"name": "bosh-net"}}},
     "Bosh::Clouds::CpiError", "networks.m"),
    ({"compute_offering": "small"}, {"d": dynamic(), "v1": {"type": "vip", "ip": "203.0.113.10"},
                                     "v2": {"type": "vip", "ip": "203.0.113.11"}}, "Bosh::Clouds::CpiError", "vip"),
    ({"compute_offering": "small"}, {"d": {"type": "bogus", "cloud_properties": {"name": "bosh-net"}}},
     "Bosh::Clouds::CpiError", "bogus"),
    ({"compute_offering": "small"}, {"d": "not-an-object"}, "Bosh::Clouds::CpiError", "not-an-object"),
    ({"compute_offering": "small"}, {}, "Bosh::Clouds::CpiError", "networks"),
    ({"compute_offering": "small"}, {"d": {"type": "dynamic", "cloud_properties": {}}}, "Bosh::Clouds::CpiError",
     "cloud_properties.name"),
    ({"compute_offering": "small", "routes": {"other": [{"cidr": "10.9.0.0/16"}]}}, NET,
     "Bosh::Clouds::CpiError", "other"),
]


@pytest.mark.parametrize(("props", "networks", "error_type", "needle"), BAD_INPUT,
                         ids=[f"{i}-{b[3]}" for i, b in enumerate(BAD_INPUT)])
def test_bad_input_is_a_typed_error_naming_key_and_value(simulator: Any, cpi: Any, light_stemcell: str,
                                                         props: dict, networks: Any, error_type: str,
                                                         needle: str) -> None:
    before = cpi_objects(simulator)
    error = failed(cpi("create_vm", "agent", light_stemcell, props, networks, None, None, api_version=2), error_type)
    assert needle in error["message"], error
    assert_no_leaks(simulator, before)


def test_unknown_stemcell_and_unknown_keys(simulator: Any, cpi: Any, light_stemcell: str) -> None:
    error = failed(cpi("create_vm", "agent", "cpitemplate-nope", {"compute_offering": "small"}, NET, None, None,
                       api_version=2), "Bosh::Clouds::VMCreationFailed")
    assert "cpitemplate-nope" in error["message"]
    response = cpi("create_vm", "agent", light_stemcell, {"compute_offering": "small", "instance_type": "m1"}, NET,
                   None, None, api_version=2)
    vm = ok(response)[0]
    assert "instance_type" in response.log  # tolerated, with a warning
    ok(cpi("delete_vm", vm))


# -- earlier CPIs' CIDs and API cost -------------------------------------------------------------------------------


def legacy_vm(sim: Any) -> dict[str, Any]:
    """A VM as the Java CloudStack CPI made it: named cpivm-<uuid>, no tags."""
    client = api(sim)
    zone = next(z for z in sim.inventory()["zones"] if z["name"] == "zone-xen")
    offering = next(o for o in sim.inventory()["serviceofferings"] if o["name"] == "small")
    network = next(n for n in sim.inventory()["networks"] if n["name"] == "bosh-net" and n["zonename"] == "zone-xen")
    name = f"cpivm-{uuid.uuid4()}"
    result = client.call_async("deployVirtualMachine", {"zoneid": zone["id"], "serviceofferingid": offering["id"],
                                                        "templateid": template_id(sim), "name": name,
                                                        "networkids": network["id"]})
    return result.get("virtualmachine", result)


def test_legacy_vm_cids_resolve_by_exact_name(simulator: Any, cpi: Any) -> None:
    vm = legacy_vm(simulator)
    legacy_vm(simulator)  # another cpivm-… name: a substring match would be ambiguous
    cid = vm["name"]
    assert ok(cpi("has_vm", cid)) is True
    assert ok(cpi("has_vm", cid[:-4])) is False  # a prefix of a name is not that VM
    ok(cpi("set_vm_metadata", cid, {"deployment": "old", "name": "old/0"}))
    view = next(v for v in simulator.inventory()["virtualmachines"] if v["id"] == vm["id"])
    tags = {t["key"]: t["value"] for t in view["tags"]}
    assert tags["deployment"] == "old" and tags["bosh-cpi"] == "cloudstack" and view["displayname"] == "old/0"
    ok(cpi("reboot_vm", cid))
    ok(cpi("delete_vm", cid))
    assert ok(cpi("has_vm", cid)) is False
    failed(cpi("delete_vm", cid), "Bosh::Clouds::VMNotFound")


def vm_listings(sim: Any, since: int) -> list[dict[str, Any]]:
    return [e for e in sim.request_log()[since:] if e["command"] == "listVirtualMachines"]


def test_has_vm_and_delete_vm_cost_does_not_grow_with_the_account(simulator: Any, cpi: Any,
                                                                  light_stemcell: str) -> None:
    vm = ok(cpi("create_vm", "agent", light_stemcell, {"compute_offering": "small"}, NET, None, None,
                api_version=2))[0]
    for _ in range(4):
        legacy_vm(simulator)
    mark = len(simulator.request_log())
    ok(cpi("has_vm", vm))
    assert [e["command"] for e in simulator.request_log()[mark:]] == ["listVirtualMachines"]
    mark = len(simulator.request_log())
    ok(cpi("delete_vm", vm))
    listings = vm_listings(simulator, mark)
    assert listings and all(e["params"].get("id") == vm for e in listings), listings
    commands = [e["command"] for e in simulator.request_log()[mark:]]
    assert "listPublicIpAddresses" not in commands and commands.count("listVolumes") <= 2, commands


def test_the_ephemeral_disk_is_deployed_with_the_vm_and_tagged_while_the_deploy_runs(
        simulator: Any, cpi: Any, light_stemcell: str) -> None:
    """One deploy makes the VM and its ephemeral disk (no createVolume, no attachVolume); both tag
    jobs are waited for with the deploy; delete_vm removes the disk with the VM."""
    simulator.reset_log()
    vm = ok(cpi("create_vm", "agent", light_stemcell, {"compute_offering": "small", "disk": 3000}, NET, None,
                None, api_version=2))[0]
    commands = [e["command"] for e in simulator.request_log()]
    assert "createVolume" not in commands and "attachVolume" not in commands, commands
    deploy = commands.index("deployVirtualMachine")
    assert commands[deploy + 1:deploy + 4] == ["listVolumes", "createTags", "createTags"], commands
    (disk,) = [v for v in simulator.inventory()["volumes"] if v.get("virtualmachineid") == vm
               and v["type"] == "DATADISK"]
    assert disk["deviceid"] == 1 and disk["size"] == 3 * 2**30  # 3000 MiB -> 3 GB, custom offering
    tags = {t["key"]: t["value"] for t in disk["tags"]}
    assert tags["bosh-role"] == "ephemeral-disk" and tags["bosh-vm-id"] == vm
    ok(cpi("delete_vm", vm))
    assert disk["id"] not in {v["id"] for v in simulator.inventory()["volumes"]}


def test_a_fixed_ephemeral_offering_too_small_fails_before_the_deploy(simulator: Any, cpi: Any,
                                                                     light_stemcell: str) -> None:
    fixed = next(o for o in simulator.inventory()["diskofferings"] if not o.get("iscustomized"))
    simulator.reset_log()
    too_big = (int(fixed["disksize"]) + 1) * 1024
    response = cpi("create_vm", "agent", light_stemcell, {"compute_offering": "small", "disk": too_big,
                                                          "ephemeral_disk_offering": fixed["name"]}, NET, None,
                   None, api_version=2)
    assert response.error is not None and "fixed size" in response.error["message"], response.error
    assert "deployVirtualMachine" not in simulator.request_counts()


# -- cloud_properties that reach CloudStack -----------------------------------------------------------------


def test_custom_offering_root_disk_affinity_group_lbs_and_routes(simulator: Any, cpi: Any,
                                                               light_stemcell: str) -> None:
    make_lb_rule(simulator)
    before = cpi_objects(simulator)
    props = {"compute_offering": "custom", "cpu": 2, "ram": 2048, "cpu_speed": 1500, "root_disk_size": 10240,
             "affinity_group": "web-anti", "lbs": [{"name": "web-lb", "algorithm": "roundrobin"}],
             "routes": {"default": [{"cidr": "10.200.0.0/16"}]}}
    vm = ok(cpi("create_vm", "agent", light_stemcell, props, NET, None, None, api_version=2))[0]
    view = next(v for v in simulator.inventory()["virtualmachines"] if v["id"] == vm)
    assert (view["cpunumber"], view["memory"], view["cpuspeed"]) == (2, 2048, 1500)
    assert [g["name"] for g in view["affinitygroup"]] == ["web-anti"]
    root = next(v for v in simulator.inventory()["volumes"] if v.get("virtualmachineid") == vm and v["type"] == "ROOT")
    assert root["size"] == 10 * 2**30
    rules = api(simulator).list("listLoadBalancerRules", {"virtualmachineid": vm})
    assert [r["name"] for r in rules] == ["web-lb"]
    network = guest_settings(simulator, vm)["networks"]["default"]
    assert network["routes"] == [{"Destination": "10.200.0.0", "Gateway": network["gateway"],
                                  "Netmask": "255.255.0.0"}]
    ok(cpi("delete_vm", vm))
    after = cpi_objects(simulator)
    assert len(after.pop("affinitygroups")) == 1  # a named group is the operator's: kept
    before.pop("affinitygroups")
    assert after == before


def test_delete_vm_when_the_account_may_not_expunge(tmp_path: Path) -> None:
    from cloudstack_simulator import Simulator

    with Simulator({"api": {"allow_user_expunge_recover_vm": False}}) as sim:
        config = make_cpi_config(sim, "xen", tmp_path)
        vm = ok(run_cpi(config, "create_vm", "agent", template_id(sim), {"compute_offering": "small", "disk": 1024},
                        NET, None, None, api_version=2))[0]
        disk = ok(run_cpi(config, "create_disk", 1024, {}, vm, api_version=2))
        ok(run_cpi(config, "attach_disk", vm, disk, api_version=2))
        response = run_cpi(config, "delete_vm", vm, api_version=2)
        ok(response)
        assert "may not expunge" in response.log
        assert ok(run_cpi(config, "has_vm", vm)) is False
        volumes = {v["id"]: v for v in sim.inventory()["volumes"] if v["type"] == "DATADISK"}
        assert set(volumes) == {disk} and not volumes[disk].get("virtualmachineid")  # kept, detached


def test_calculate_vm_cloud_properties_picks_the_smallest_fit(cpi: Any) -> None:
    small = ok(cpi("calculate_vm_cloud_properties", {"cpu": 1, "ram": 256, "ephemeral_disk_size": 0}))
    assert small == {"compute_offering": "small"}
    big = ok(cpi("calculate_vm_cloud_properties", {"cpu": 64, "ram": 10**6, "ephemeral_disk_size": 5000}))
    assert big["compute_offering"] == "custom" and (big["cpu"], big["ram"]) == (64, 10**6)
    assert big["disk"] == 5000 and big["ephemeral_disk_offering"] == "disk-small"
    failed(cpi("calculate_vm_cloud_properties", {"cpu": "2", "ram": 1024, "ephemeral_disk_size": 0}),
           "Bosh::Clouds::CpiError")
