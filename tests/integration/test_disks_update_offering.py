"""update_disk moving a disk to another disk offering, through the real CPI process and the simulator's
changeOfferingForVolume (rules as VolumeApiServiceImpl applies them: see tests/simulator/test_volume_resize.py).

One zone (XenServer) is enough: the CPI's decision does not depend on the hypervisor. VMs are deployed
straight through the simulator API to keep this fast.
"""

from __future__ import annotations

from typing import Any

import pytest

from cpi_framework.cloudstack import CloudStackClient
from cpi_framework.testing import make_cpi_config, run_cpi

GIB = 2**30


@pytest.fixture
def hypervisor() -> str:
    return "xen"


def volume(simulator: Any, volume_id: str) -> dict[str, Any]:
    return next(v for v in simulator.inventory()["volumes"] if v["id"] == volume_id)


def ok(response: Any) -> Any:
    assert response.error is None, f"{response.error}\n{response.log[-3000:]}"
    return response.result


def failed(response: Any, bosh_type: str, *mentions: str) -> str:
    assert response.error is not None, f"expected {bosh_type}, got result {response.result!r}"
    assert response.error["type"] == f"Bosh::Clouds::{bosh_type}", response.error
    for text in mentions:
        assert text in response.error["message"], (text, response.error["message"])
    return response.error["message"]


def calls(simulator: Any, name: str) -> int:
    return sum(1 for entry in simulator.request_log() if entry["command"] == name)


def deploy_vm(simulator: Any, client: CloudStackClient) -> str:
    inv = simulator.inventory()
    zone_id = next(z["id"] for z in inv["zones"] if z["name"] == "zone-xen")
    params = {
        "zoneid": zone_id,
        "templateid": next(t["id"] for t in inv["templates"] if t["zoneid"] == zone_id and t["isready"]),
        "serviceofferingid": next(s["id"] for s in inv["serviceofferings"] if s["name"] == "small"),
        "networkids": next(n["id"] for n in inv["networks"] if n["zoneid"] == zone_id and n["name"] == "bosh-net"),
    }
    return client.call_async("deployVirtualMachine", params)["virtualmachine"]["id"]


def test_detached_disk_moves_to_another_offering(cpi, simulator, client):
    disk = ok(cpi("create_disk", 2048, {}, None, api_version=2))
    before = volume(simulator, disk)
    assert before["diskofferingname"] == "disk-custom" and before["state"] == "Allocated"

    # never attached (Allocated): the server only updates its database
    assert ok(cpi("update_disk", disk, 10240, {"disk_offering": "disk-small"}, api_version=2)) == disk
    moved = volume(simulator, disk)
    assert moved["diskofferingname"] == "disk-small" and moved["size"] == 10 * GIB
    assert {t["key"] for t in moved["tags"]} >= {"bosh-cpi", "bosh-role", "bosh-director-uuid"}
    assert calls(simulator, "changeOfferingForVolume") == 1

    # materialised (attached once, then detached): Ready on primary storage, grows to the new offering
    vm = deploy_vm(simulator, client)
    ok(cpi("attach_disk", vm, disk, api_version=2))
    ok(cpi("detach_disk", vm, disk, api_version=2))
    assert volume(simulator, disk)["state"] == "Ready"
    assert ok(cpi("update_disk", disk, 20480, {"disk_offering": "disk-large"}, api_version=2)) == disk
    grown = volume(simulator, disk)
    assert grown["diskofferingname"] == "disk-large" and grown["size"] == 100 * GIB and grown["state"] == "Ready"

    # back to the custom offering at a larger size
    assert ok(cpi("update_disk", disk, 150 * 1024, {"disk_offering": "disk-custom"}, api_version=2)) == disk
    custom = volume(simulator, disk)
    assert custom["diskofferingname"] == "disk-custom" and custom["size"] == 150 * GIB


def test_refusals_before_the_call(cpi, simulator, client):
    disk = ok(cpi("create_disk", 20480, {"disk_offering": "disk-custom"}, None, api_version=2))
    # a smaller fixed offering would shrink the disk: NotSupported, so the director migrates the data
    failed(cpi("update_disk", disk, 10240, {"disk_offering": "disk-small"}, api_version=2), "NotSupported", disk)
    # an offering that does not exist
    failed(cpi("update_disk", disk, 20480, {"disk_offering": "no-such-offering"}, api_version=2), "CloudError",
           "no-such-offering")
    # attached: the CPI asks for a detach first and sends nothing
    vm = deploy_vm(simulator, client)
    ok(cpi("attach_disk", vm, disk, api_version=2))
    failed(cpi("update_disk", disk, 102400, {"disk_offering": "disk-large"}, api_version=2), "CloudError", "detach")
    assert calls(simulator, "changeOfferingForVolume") == 0
    assert volume(simulator, disk)["diskofferingname"] == "disk-custom"


def test_server_refusal_in_the_job_is_not_supported(cpi, simulator, client):
    """A snapshot still on primary storage makes the server's job fail (530); the disk is unchanged,
    so the CPI answers NotSupported and the director migrates instead."""
    disk = ok(cpi("create_disk", 2048, {}, None, api_version=2))
    vm = deploy_vm(simulator, client)
    ok(cpi("attach_disk", vm, disk, api_version=2))
    ok(cpi("detach_disk", vm, disk, api_version=2))
    simulator.faults.job_duration("createSnapshot", 120)
    client.submit("createSnapshot", {"volumeid": disk})
    message = failed(cpi("update_disk", disk, 102400, {"disk_offering": "disk-large"}, api_version=2),
                     "NotSupported", disk)
    assert "unbacked up snapshot" in message
    unchanged = volume(simulator, disk)
    assert unchanged["diskofferingname"] == "disk-custom" and unchanged["size"] == 2 * GIB


def test_command_denied_to_the_role_is_not_supported(tmp_path):
    """Where the account's role may not call changeOfferingForVolume (or CloudStack < 4.17 lacks it),
    the server answers 432 at once; the CPI answers NotSupported and never half-changes the disk."""
    from cloudstack_simulator import Simulator

    config = {"role": {"name": "CPI user", "type": "User", "denied_commands": ["changeOfferingForVolume"]}}
    with Simulator(config) as sim:
        cpi_config = make_cpi_config(sim, "xen", tmp_path)
        disk = ok(run_cpi(cpi_config, "create_disk", 2048, {}, None, api_version=2))
        message = failed(run_cpi(cpi_config, "update_disk", disk, 10240, {"disk_offering": "disk-small"},
                                 api_version=2), "NotSupported", disk, "disk-small")
        assert "migrated" in message
        left = next(v for v in sim.inventory()["volumes"] if v["id"] == disk)
        assert left["diskofferingname"] == "disk-custom" and left["size"] == 2 * GIB
