"""Disk and snapshot semantics through the real CPI process (contract 6.D 27, 6.E 40-44, 6.F 46-47).

These do not depend on the hypervisor, so they run once, in the XenServer zone; VMs are
deployed straight through the simulator's API (``create_vm`` is covered elsewhere) to keep
the suite fast.
"""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from cpi_framework.cloudstack import CloudStackClient
from cpi_framework.testing import DIRECTOR_UUID, make_cpi_config, run_cpi

GIB = 2**30
PV_DRIVERS = ("Failed to attach volume: You attempted an operation on a VM which requires PV drivers to be "
              "installed but the drivers were not detected.")


@pytest.fixture
def hypervisor() -> str:
    return "xen"


def deploy_vm(simulator: Any, client: CloudStackClient, zone: str = "zone-xen") -> str:
    inv = simulator.inventory()
    zone_id = next(z["id"] for z in inv["zones"] if z["name"] == zone)
    params = {
        "zoneid": zone_id,
        "templateid": next(t["id"] for t in inv["templates"] if t["zoneid"] == zone_id and t["isready"]),
        "serviceofferingid": next(s["id"] for s in inv["serviceofferings"] if s["name"] == "small"),
        "networkids": next(n["id"] for n in inv["networks"] if n["zoneid"] == zone_id and n["name"] == "bosh-net"),
    }
    return client.call_async("deployVirtualMachine", params)["virtualmachine"]["id"]


def volume(simulator: Any, volume_id: str) -> dict[str, Any] | None:
    return next((v for v in simulator.inventory()["volumes"] if v["id"] == volume_id), None)


def tags(item: dict[str, Any]) -> dict[str, str]:
    return {t["key"]: t["value"] for t in item.get("tags") or []}


def ok(response: Any) -> Any:
    assert response.error is None, f"{response.error}\n{response.log[-3000:]}"
    return response.result


def failed(response: Any, bosh_type: str, *mentions: str) -> str:
    assert response.error is not None, f"expected {bosh_type}, got result {response.result!r}"
    assert response.error["type"] == f"Bosh::Clouds::{bosh_type}", response.error
    for text in mentions:
        assert text in response.error["message"], (text, response.error["message"])
    assert response.result is None
    return response.error["message"]


def commands(simulator: Any, name: str) -> int:
    return sum(1 for entry in simulator.request_log() if entry["command"] == name)


def test_disk_semantics(cpi, simulator, client):
    vm = deploy_vm(simulator, client)

    # 40: no placement hint (null or ""); sizes are rounded up to whole GB; ownership tags
    disk = ok(cpi("create_disk", 1500, {}, None, api_version=2))
    other = ok(cpi("create_disk", 1024, {}, "", api_version=2))
    created = volume(simulator, disk)
    assert created["zonename"] == "zone-xen" and created["size"] == 2 * GIB and created["state"] == "Allocated"
    assert tags(created) == {"bosh-cpi": "cloudstack", "bosh-role": "persistent-disk",
                             "bosh-director-uuid": DIRECTOR_UUID}
    assert volume(simulator, other)["size"] == 1 * GIB

    # 41: metadata becomes tags (replaced on the next call; ownership tags stay)
    meta = {"id": "my-id", "deployment": "my-deployment", "job": "my-job", "index": "my-index",
            "some_key": "some_value"}
    assert ok(cpi("set_disk_metadata", disk, meta, api_version=2)) is None
    assert tags(volume(simulator, disk)) == {**meta, "bosh-cpi": "cloudstack", "bosh-role": "persistent-disk",
                                             "bosh-director-uuid": DIRECTOR_UUID}
    assert ok(cpi("set_disk_metadata", disk, {"deployment": "moved", "index": 3}, api_version=2)) is None
    assert tags(volume(simulator, disk)) == {"deployment": "moved", "index": "3", "bosh-cpi": "cloudstack",
                                             "bosh-role": "persistent-disk", "bosh-director-uuid": DIRECTOR_UUID}

    # 42: grow a detached disk; same size is a no-op; smaller is NotSupported
    assert ok(cpi("resize_disk", disk, 4096, api_version=2)) is None
    assert volume(simulator, disk)["size"] == 4 * GIB
    before = commands(simulator, "resizeVolume")
    assert ok(cpi("resize_disk", disk, 4096, api_version=2)) is None
    assert commands(simulator, "resizeVolume") == before
    failed(cpi("resize_disk", disk, 1024, api_version=2), "NotSupported", disk)

    # 43: update_disk: same size and properties keep the CID without a change; a size change resizes
    assert ok(cpi("update_disk", disk, 4096, {}, api_version=2)) == disk
    assert commands(simulator, "resizeVolume") == before
    assert ok(cpi("update_disk", disk, 6144, {"disk_offering": "disk-custom"}, api_version=2)) == disk
    assert volume(simulator, disk)["size"] == 6 * GIB
    moved = cpi("update_disk", disk, 6144, {"disk_offering": "disk-large"}, api_version=2)
    if moved.error is not None:  # CloudStack without changeOfferingForVolume: the director migrates
        failed(moved, "NotSupported", "disk-large")
    else:
        assert moved.result == disk and volume(simulator, disk)["diskofferingname"] == "disk-large"

    # 15: a v1 attach answers null; the disk is attached all the same
    assert ok(cpi("attach_disk", vm, disk)) is None
    assert volume(simulator, disk)["virtualmachineid"] == vm

    # attached disks: no resize, no delete (never forced), detach from another VM is DiskNotAttached
    failed(cpi("resize_disk", disk, 200 * 1024, api_version=2), "CloudError", "detach")  # larger than disk-large
    failed(cpi("delete_disk", disk, api_version=2), "CloudError", disk, "detach")
    stranger = str(uuid.uuid4())
    failed(cpi("detach_disk", stranger, disk, api_version=2), "DiskNotAttached", disk, stranger)
    assert volume(simulator, disk)["virtualmachineid"] == vm

    # 27: snapshot with the director's metadata (index is an Integer); 47: delete twice
    snap_meta = {"deployment": "deployment", "job": "job", "index": 0, "instance_id": "i-1", "agent_id": "a-1",
                 "director_name": "d", "director_uuid": DIRECTOR_UUID}
    snapshot = ok(cpi("snapshot_disk", disk, snap_meta, api_version=2))
    listed = next(s for s in simulator.inventory()["snapshots"] if s["id"] == snapshot)
    assert listed["volumeid"] == disk
    assert {k: v for k, v in tags(listed).items() if k in snap_meta} == {k: str(v) for k, v in snap_meta.items()}
    assert tags(listed)["bosh-role"] == "snapshot"
    assert ok(cpi("delete_snapshot", snapshot, api_version=2)) is None
    assert not any(s["id"] == snapshot for s in simulator.inventory()["snapshots"])
    assert ok(cpi("delete_snapshot", snapshot, api_version=2)) is None

    # 26, 44: detach; detaching again, or a disk that never existed, is success
    assert ok(cpi("detach_disk", vm, disk, api_version=2)) is None
    assert not volume(simulator, disk).get("virtualmachineid")
    assert ok(cpi("detach_disk", vm, disk, api_version=2)) is None
    assert ok(cpi("detach_disk", vm, "non-existing-disk", api_version=2)) is None

    # 28, 46: delete; then has_disk is false and a second delete is DiskNotFound
    assert ok(cpi("delete_disk", disk, api_version=2)) is None
    assert volume(simulator, disk) is None
    assert ok(cpi("has_disk", disk, api_version=2)) is False
    failed(cpi("delete_disk", disk, api_version=2), "DiskNotFound", disk)


def test_disks_follow_the_vm_hint_into_its_zone(cpi, simulator, client):
    kvm_vm = deploy_vm(simulator, client, "zone-kvm")  # the config's default zone is zone-xen
    assert volume(simulator, ok(cpi("create_disk", 1024, {}, kvm_vm, api_version=2)))["zonename"] == "zone-kvm"


def test_fixed_size_offerings(cpi, simulator):
    fixed = ok(cpi("create_disk", 2048, {"disk_offering": "disk-small"}, None, api_version=2))
    assert volume(simulator, fixed)["size"] == 10 * GIB
    failed(cpi("create_disk", 20480, {"disk_offering": "disk-small"}, None, api_version=2),
           "CloudError", "disk-small", "20480")
    # growing past a fixed offering moves the disk to the default (custom-size) offering
    assert ok(cpi("resize_disk", fixed, 20480, api_version=2)) is None
    grown = volume(simulator, fixed)
    assert grown["size"] == 20 * GIB and grown["diskofferingname"] == "disk-custom"


def test_attach_edge_cases(cpi, simulator, client, tmp_path):
    vm_a, vm_b = deploy_vm(simulator, client), deploy_vm(simulator, client)
    disk = ok(cpi("create_disk", 1024, {}, vm_a, api_version=2))

    # XenServer refuses hot-plug until the guest's PV drivers are up: retried, then attached
    simulator.faults.fail_jobs("attachVolume", 1, errortext=PV_DRIVERS)
    hint = ok(cpi("attach_disk", vm_a, disk, api_version=2))
    assert hint and commands(simulator, "attachVolume") == 2
    assert volume(simulator, disk)["virtualmachineid"] == vm_a

    # attached elsewhere: a clear error naming both VMs, nothing moved
    failed(cpi("attach_disk", vm_b, disk, api_version=2), "CloudError", disk, vm_a, vm_b)

    # a non-transient failure is not retried
    ok(cpi("detach_disk", vm_a, disk, api_version=2))
    simulator.faults.fail_jobs("attachVolume", 1, errortext="Unable to attach: storage pool is down")
    before = commands(simulator, "attachVolume")
    failed(cpi("attach_disk", vm_b, disk, api_version=2), "CloudError", "storage pool is down")
    assert commands(simulator, "attachVolume") == before + 1


def test_registry_stemcells_get_hints_in_the_registry(simulator, client, registry, tmp_path):
    """A stemcell below api_version 2 reads disk hints from the registry."""
    config = make_cpi_config(simulator, "xen", tmp_path, cpi={"registry": registry.config()})
    vm = deploy_vm(simulator, client)
    registry.settings[vm] = json.dumps({"agent_id": "a-1", "disks": {"system": "/dev/xvda", "persistent": {}}})
    context = {"director_uuid": DIRECTOR_UUID, "vm": {"stemcell": {"api_version": 1}}}
    disk = ok(run_cpi(config, "create_disk", 1024, {}, vm, context=context))
    assert ok(run_cpi(config, "attach_disk", vm, disk, context=context)) is None
    persistent = json.loads(registry.settings[vm])["disks"]["persistent"]
    assert list(persistent) == [disk] and persistent[disk]
    assert ok(run_cpi(config, "detach_disk", vm, disk, context=context)) is None
    assert json.loads(registry.settings[vm])["disks"]["persistent"] == {}


def test_legacy_cids_resolve_by_exact_name(cpi, simulator, client):
    vm = deploy_vm(simulator, client)
    zone_id = next(z["id"] for z in simulator.inventory()["zones"] if z["name"] == "zone-xen")
    offering = next(d["id"] for d in simulator.inventory()["diskofferings"] if d["name"] == "disk-custom")
    legacy = f"cpi-disk-{uuid.uuid4()}"
    ephemeral = f"cpi-ephemeral-disk-{uuid.uuid4()}"
    for name in (legacy, legacy + "-suffix", ephemeral):  # a longer name must not match by substring
        created = client.call_async("createVolume", {"name": name, "zoneid": zone_id, "diskofferingid": offering,
                                                     "size": 1})
        if name == ephemeral:
            client.call_async("attachVolume", {"id": created["volume"]["id"], "virtualmachineid": vm})

    assert ok(cpi("has_disk", legacy, api_version=2)) is True
    assert ok(cpi("has_disk", "cpi-disk-does-not-exist", api_version=2)) is False
    hint = ok(cpi("attach_disk", vm, legacy, api_version=2))
    assert hint
    assert ok(cpi("get_disks", vm, api_version=2)) == [legacy], "the earlier CPI's ephemeral disk is not listed"
    assert ok(cpi("detach_disk", vm, legacy, api_version=2)) is None
    assert ok(cpi("delete_disk", legacy, api_version=2)) is None
    names = {v["name"] for v in simulator.inventory()["volumes"]}
    assert legacy not in names and legacy + "-suffix" in names


def test_bad_input_is_a_typed_error_naming_the_value(cpi, simulator, client, tmp_path):
    vm = deploy_vm(simulator, client)
    disk = ok(cpi("create_disk", 1024, {}, None, api_version=2))
    missing_vm, missing_disk = str(uuid.uuid4()), str(uuid.uuid4())
    no_default = make_cpi_config(simulator, "xen", tmp_path, cpi={"default_disk_offering": None})
    cases = [
        (("create_disk", 0, {}, None), "CpiError", ["0"]),
        (("create_disk", -2048, {}, None), "CpiError", ["-2048"]),
        (("create_disk", "2048", {}, None), "CpiError", ["2048", "size"]),
        (("create_disk", 2048, {"disk_offering": "no-such-offering"}, None), "CloudError", ["no-such-offering"]),
        (("create_disk", 2048, {"disk_offering": 7}, None), "CpiError", ["disk_offering", "7"]),
        (("has_disk", 42), "CpiError", ["disk_cid", "42"]),
        (("attach_disk", missing_vm, disk), "VMNotFound", [missing_vm]),
        (("attach_disk", vm, missing_disk), "DiskNotFound", [missing_disk]),
        (("attach_disk", vm, {"id": disk}), "CpiError", ["disk_cid"]),
        (("get_disks", missing_vm), "VMNotFound", [missing_vm]),
        (("resize_disk", disk, 0), "CpiError", ["0"]),
        (("resize_disk", missing_disk, 4096), "DiskNotFound", [missing_disk]),
        (("set_disk_metadata", missing_disk, {"a": "b"}), "DiskNotFound", [missing_disk]),
        (("snapshot_disk", missing_disk, {}), "DiskNotFound", [missing_disk]),
        (("snapshot_disk", disk, {}), "CloudError", [disk, "never been attached"]),
    ]

    def run(case: tuple[tuple[Any, ...], str, list[str]]) -> None:
        (method, *args), bosh_type, mentions = case
        failed(cpi(method, *args, api_version=2), bosh_type, *mentions)

    with ThreadPoolExecutor(max_workers=4) as pool:
        for future in [pool.submit(run, case) for case in cases]:
            future.result()
    failed(cpi("update_disk", disk, 2048, {}), "NotImplemented")  # v2+ only
    failed(run_cpi(no_default, "create_disk", 1024, {}, None), "CpiError", "default_disk_offering", "disk_offering")
