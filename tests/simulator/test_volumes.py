"""Volume and snapshot rules and device ids / guest naming."""

from __future__ import annotations

import pytest

GB = 2**30


def test_create_volume_allocated_size_in_gb_read_in_bytes(cs) -> None:
    created = cs.ok("createVolume", "POST", zoneid=cs.zone(), diskofferingid=cs.disk_offering(), size=7, name="v")
    assert set(created) == {"id", "jobid"}
    vol = cs.wait(created["jobid"])["jobresult"]["volume"]
    assert vol["state"] == "Allocated" and vol["size"] == 7 * GB and vol["hypervisor"] == "None"
    assert vol["storage"] == "none" and "virtualmachineid" not in vol
    fixed = cs.result("createVolume", zoneid=cs.zone(), diskofferingid=cs.disk_offering("disk-large"))["volume"]
    assert fixed["size"] == 100 * GB


def test_create_volume_size_rules(cs) -> None:
    zid = cs.zone()
    assert "requires a custom size" in cs.error("createVolume", "POST", zoneid=zid,
                                                diskofferingid=cs.disk_offering())[1]
    assert "does not allow custom size" in cs.error("createVolume", "POST", zoneid=zid, size=3,
                                                    diskofferingid=cs.disk_offering("disk-small"))[1]
    assert "Either disk Offering Id or snapshot Id" in cs.error("createVolume", "POST", zoneid=zid)[1]


def test_attach_materialises_volume(cs) -> None:
    vm = cs.deploy()
    vol = cs.volume()
    attached = cs.result("attachVolume", id=vol["id"], virtualmachineid=vm["id"])["volume"]
    assert attached["state"] == "Ready" and attached["deviceid"] == 1 and attached["hypervisor"] == "XenServer"
    assert attached["virtualmachineid"] == vm["id"] and attached["vmstate"] == "Running" and "attached" in attached
    detached = cs.result("detachVolume", id=vol["id"])["volume"]
    assert detached["state"] == "Ready" and "virtualmachineid" not in detached


def test_device_ids_skip_cdrom_and_stop_at_the_limit(cs) -> None:
    vm = cs.deploy()
    ids = []
    for _ in range(6):
        vol = cs.volume()
        ids.append(cs.result("attachVolume", id=vol["id"], virtualmachineid=vm["id"])["volume"]["deviceid"])
    assert ids == [1, 2, 4, 5, 6, 7]
    extra = cs.volume()
    job = cs.job("attachVolume", id=extra["id"], virtualmachineid=vm["id"])
    assert job["jobstatus"] == 2 and job["jobresultcode"] == 431
    assert job["jobresult"]["errortext"] == ("The specified VM already has the maximum number of data disks (6) "
                                             "attached. Please specify another VM.")
    # a freed id is reused lowest-first
    data = cs.ok("listVolumes", virtualmachineid=vm["id"], type="DATADISK")["volume"]
    second = next(v for v in data if v["deviceid"] == 2)
    cs.result("detachVolume", id=second["id"])
    assert cs.result("attachVolume", id=extra["id"], virtualmachineid=vm["id"])["volume"]["deviceid"] == 2


def test_limit_follows_config(make_sim) -> None:
    c = make_sim({"hypervisors": {"XenServer": {"max_data_volumes": 2}}})
    vm = c.deploy()
    ids = [c.result("attachVolume", id=c.volume()["id"], virtualmachineid=vm["id"])["volume"]["deviceid"]
           for _ in range(2)]
    assert ids == [1, 2]
    assert c.job("attachVolume", id=c.volume()["id"], virtualmachineid=vm["id"])["jobstatus"] == 2


@pytest.mark.parametrize("device", [3, 0, 8])
def test_requested_device_id_rules(cs, device: int) -> None:
    vm = cs.deploy()
    job = cs.job("attachVolume", id=cs.volume()["id"], virtualmachineid=vm["id"], deviceid=device)
    assert job["jobstatus"] == 2 and job["jobresult"]["errortext"] == "deviceId should be 0,1,2,4-7"


def test_requested_device_id_in_use(cs) -> None:
    vm = cs.deploy()
    assert cs.result("attachVolume", id=cs.volume()["id"], virtualmachineid=vm["id"], deviceid=5)["volume"][
        "deviceid"] == 5
    job = cs.job("attachVolume", id=cs.volume()["id"], virtualmachineid=vm["id"], deviceid=5)
    assert job["jobstatus"] == 2 and "is used by vm" in job["jobresult"]["errortext"]


def test_no_attach_of_an_attached_volume(cs) -> None:
    vm1, vm2 = cs.deploy(), cs.deploy()
    vol = cs.volume()
    cs.result("attachVolume", id=vol["id"], virtualmachineid=vm1["id"])
    for target in (vm1, vm2):
        job = cs.job("attachVolume", id=vol["id"], virtualmachineid=target["id"])
        assert job["jobstatus"] == 2
        assert job["jobresult"] == {"errorcode": 431,
                                    "errortext": "Please specify a volume that is not attached to any VM."}


def test_no_delete_of_attached_or_root_volume(cs) -> None:
    vm = cs.deploy()
    vol = cs.volume()
    cs.result("attachVolume", id=vol["id"], virtualmachineid=vm["id"])
    assert cs.error("deleteVolume", "POST", id=vol["id"]) == (
        431, "Please specify a volume that is not attached to any VM.")
    root = cs.one("listVolumes", "volume", virtualmachineid=vm["id"], type="ROOT")
    assert cs.error("deleteVolume", "POST", id=root["id"])[0] == 431
    cs.result("detachVolume", id=vol["id"])
    assert cs.ok("deleteVolume", "POST", id=vol["id"]) == {"success": True}
    assert cs.ok("listVolumes", id=vol["id"]) == {}
    assert "Unable to find volume" in cs.error("deleteVolume", "POST", id=vol["id"])[1]


def test_detach_rules(cs) -> None:
    vm = cs.deploy()
    vol = cs.volume()
    job = cs.job("detachVolume", id=vol["id"])
    assert job["jobstatus"] == 2 and "not attached" in job["jobresult"]["errortext"]
    root = cs.one("listVolumes", "volume", virtualmachineid=vm["id"], type="ROOT")
    assert cs.job("detachVolume", id=root["id"])["jobstatus"] == 2
    cs.result("attachVolume", id=vol["id"], virtualmachineid=vm["id"])
    by_device = cs.result("detachVolume", virtualmachineid=vm["id"], deviceid=1)["volume"]
    assert by_device["id"] == vol["id"]


def test_attach_across_zones_and_to_destroyed_vm(cs) -> None:
    vm = cs.deploy()
    other = cs.volume(zone="zone-kvm")
    job = cs.job("attachVolume", id=other["id"], virtualmachineid=vm["id"])
    assert job["jobresult"]["errortext"] == "Please specify a VM that is in the same zone as the volume."
    cs.result("destroyVirtualMachine", id=vm["id"])
    job = cs.job("attachVolume", id=cs.volume()["id"], virtualmachineid=vm["id"])
    assert job["jobresult"]["errortext"] == "Please specify a VM that is either running or stopped."


def test_resize(cs) -> None:
    vol = cs.volume(size=5)
    assert cs.result("resizeVolume", id=vol["id"], size=8)["volume"]["size"] == 8 * GB
    refused = cs.job("resizeVolume", id=vol["id"], size=2)  # business rules run in the job, as on the server
    assert refused["jobstatus"] == 2 and "shrinkok" in refused["jobresult"]["errortext"]
    assert cs.result("resizeVolume", id=vol["id"], size=2, shrinkok=True)["volume"]["size"] == 2 * GB


def test_snapshots(cs) -> None:
    vm = cs.deploy()
    vol = cs.volume()
    status, text = cs.error("createSnapshot", "POST", volumeid=vol["id"])
    assert status == 431 and text.endswith("is not in Ready state but Allocated. Cannot take snapshot.")
    cs.result("attachVolume", id=vol["id"], virtualmachineid=vm["id"])
    created = cs.ok("createSnapshot", "POST", volumeid=vol["id"])
    snap = cs.wait(created["jobid"])["jobresult"]["snapshot"]
    assert snap["id"] == created["id"] and snap["state"] == "BackedUp" and snap["volumeid"] == vol["id"]
    assert snap["snapshottype"] == "MANUAL" and snap["name"].startswith("i-2-")
    assert cs.one("listSnapshots", "snapshot", volumeid=vol["id"])["id"] == snap["id"]
    from_snap = cs.result("createVolume", snapshotid=snap["id"], name="restored")["volume"]
    assert from_snap["size"] == vol["size"]
    assert cs.result("deleteSnapshot", id=snap["id"]) == {"success": True}
    assert cs.ok("listSnapshots") == {}


def test_volume_async_create_failure_cleans_up(cs) -> None:
    cs.sim.faults.fail_jobs("createVolume", errorcode=530, errortext="storage fault")
    created = cs.ok("createVolume", "POST", zoneid=cs.zone(), diskofferingid=cs.disk_offering(), size=1)
    job = cs.wait(created["jobid"])
    assert job["jobstatus"] == 2 and job["jobresultcode"] == 530
    assert job["jobresult"] == {"errorcode": 530, "errortext": "storage fault"}
    assert cs.ok("listVolumes", id=created["id"]) == {}


# -- guest view ------------------------------------------------------------------------------

def _disks(cs, vm_id: str) -> list[dict]:
    return cs.sim.guest_view(vm_id)["disks"]


def test_guest_view_xen_paths_follow_device_id(cs) -> None:
    vm = cs.deploy()
    vols = [cs.volume() for _ in range(3)]
    for v in vols:
        cs.result("attachVolume", id=v["id"], virtualmachineid=vm["id"])
    assert [(d["deviceid"], d["path"]) for d in _disks(cs, vm["id"])] == [
        (0, "/dev/xvda"), (1, "/dev/xvdb"), (2, "/dev/xvdc"), (4, "/dev/xvde")]


def test_guest_view_kvm_enumeration_and_serial(cs) -> None:
    vm = cs.deploy(zone="zone-kvm")
    a, b, c = (cs.volume(zone="zone-kvm") for _ in range(3))
    cs.result("attachVolume", id=a["id"], virtualmachineid=vm["id"])
    cs.result("attachVolume", id=b["id"], virtualmachineid=vm["id"])
    cs.result("detachVolume", id=a["id"])
    cs.result("attachVolume", id=c["id"], virtualmachineid=vm["id"], deviceid=4)
    disks = {d["volume_id"]: d for d in _disks(cs, vm["id"])}
    # hot-plug: c takes the lowest free name (vdb, freed by a) although its deviceid is 4
    assert disks[b["id"]]["path"] == "/dev/vdc" and disks[c["id"]]["path"] == "/dev/vdb"
    assert disks[b["id"]]["deviceid"] == 2 and disks[c["id"]]["deviceid"] == 4
    serial = c["id"].replace("-", "")[:20]
    assert disks[c["id"]]["by_id"] == [f"/dev/disk/by-id/virtio-{serial}"]
    # an (ACPI) reboot keeps the PCI slots: c, hot-plugged after b, is probed after it
    cs.result("rebootVirtualMachine", id=vm["id"])
    disks = {d["volume_id"]: d for d in _disks(cs, vm["id"])}
    assert disks[b["id"]]["path"] == "/dev/vdb" and disks[c["id"]]["path"] == "/dev/vdc"


def test_guest_view_vmware_scsi_units(make_sim) -> None:
    cs = make_sim("vmware.yml")  # max_data_volumes 59
    vm = cs.deploy(zone="zone-vmware")
    for _ in range(8):
        vol = cs.volume(zone="zone-vmware")
        cs.result("attachVolume", id=vol["id"], virtualmachineid=vm["id"])
    disks = _disks(cs, vm["id"])
    assert all(d["scsi"]["controller"] == 0 for d in disks)
    units = [d["scsi"]["unit"] for d in disks]
    assert units[0] == 0 and sorted(units[1:]) == [1, 2, 3, 4, 5, 6, 8, 9]  # unit 7 is the controller
    assert [d["path"] for d in disks][:3] == ["/dev/sda", "/dev/sdb", "/dev/sdc"]


def test_guest_view_unknown_vm(cs) -> None:
    with pytest.raises(KeyError):
        cs.sim.guest_view("nope")


def test_root_volume_detach_needs_a_stopped_vm(cs) -> None:
    vm = cs.deploy()
    root = cs.one("listVolumes", "volume", virtualmachineid=vm["id"], type="ROOT")
    job = cs.job("detachVolume", id=root["id"])
    assert job["jobstatus"] == 2
    assert job["jobresult"]["errortext"] == "Root volume detach can happen only when vm is in states: Stopped or " \
                                            "Destroyed"
    cs.result("stopVirtualMachine", id=vm["id"])
    detached = cs.result("detachVolume", id=root["id"])["volume"]
    assert "virtualmachineid" not in detached and detached["type"] == "ROOT"
