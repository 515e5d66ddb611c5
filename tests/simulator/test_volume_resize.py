"""resizeVolume and changeOfferingForVolume: immediate parameter errors, rules enforced inside the job."""

from __future__ import annotations

from typing import Any

GB = 2**30


def failed(job: dict[str, Any], code: int) -> str:
    assert job["jobstatus"] == 2, job
    assert job["jobresultcode"] == code and job["jobresult"]["errorcode"] == code, job
    return job["jobresult"]["errortext"]


def attached(cs, zone: str = "zone-xen", stop: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    vm = cs.deploy(zone)
    vol = cs.volume(zone, size=5)
    cs.result("attachVolume", id=vol["id"], virtualmachineid=vm["id"])
    if stop:
        cs.result("stopVirtualMachine", id=vm["id"])
    return vm, vol


def test_change_offering_of_a_detached_allocated_volume(cs) -> None:
    vol = cs.volume(size=5)
    large = cs.disk_offering("disk-large")
    job = cs.job("changeOfferingForVolume", id=vol["id"], diskofferingid=large)
    assert job["cmd"].endswith("volume.ChangeOfferingForVolumeCmd") and job["jobinstancetype"] == "Volume"
    moved = job["jobresult"]["volume"]
    assert moved["diskofferingname"] == "disk-large" and moved["size"] == 100 * GB  # a fixed offering sets the size
    assert moved["state"] == "Allocated"
    # back to the custom offering at a chosen size; a size given with a fixed offering is ignored (server rule)
    back = cs.result("changeOfferingForVolume", id=vol["id"], diskofferingid=cs.disk_offering(), size=120)["volume"]
    assert back["diskofferingname"] == "disk-custom" and back["size"] == 120 * GB
    small = cs.result("changeOfferingForVolume", id=vol["id"], diskofferingid=cs.disk_offering("disk-small"),
                      size=500, shrinkok=True)["volume"]
    assert small["size"] == 10 * GB


def test_change_offering_of_a_ready_detached_volume(cs) -> None:
    vm, vol = attached(cs)
    cs.result("detachVolume", id=vol["id"])
    moved = cs.result("changeOfferingForVolume", id=vol["id"], diskofferingid=cs.disk_offering("disk-small"))["volume"]
    assert moved["state"] == "Ready" and moved["size"] == 10 * GB and moved["diskofferingname"] == "disk-small"
    listed = cs.one("listVolumes", "volume", id=vol["id"])
    assert listed["diskofferingid"] == cs.disk_offering("disk-small") and listed["size"] == 10 * GB
    assert vm["id"]


def test_change_offering_refusals(cs) -> None:
    vol = cs.volume(size=5)
    custom, large = cs.disk_offering(), cs.disk_offering("disk-large")
    # parameter processing answers at once
    status, text = cs.error("changeOfferingForVolume", "POST", id=vol["id"])
    assert status == 431 and text.endswith("due to missing parameter diskofferingid")
    status, text = cs.error("changeOfferingForVolume", "POST", id=vol["id"], diskofferingid="not-a-uuid")
    assert status == 431 and "diskofferingid" in text
    # the rules run in the job
    assert "requires that a size be specified" in failed(
        cs.job("changeOfferingForVolume", id=vol["id"], diskofferingid=custom), 431)
    assert "is already having disk offering" in failed(
        cs.job("changeOfferingForVolume", id=vol["id"], diskofferingid=custom, size=5), 431)
    assert "out of allowed range" in failed(
        cs.job("changeOfferingForVolume", id=vol["id"], diskofferingid=custom, size=5000), 431)
    assert "would shrink the volume.Need to sign off" in failed(
        cs.job("changeOfferingForVolume", id=vol["id"], diskofferingid=custom, size=2), 431)
    cs.result("changeOfferingForVolume", id=vol["id"], diskofferingid=large)
    assert "is already having disk offering" in failed(
        cs.job("changeOfferingForVolume", id=vol["id"], diskofferingid=large), 431)
    assert cs.one("listVolumes", "volume", id=vol["id"])["size"] == 100 * GB  # refusals changed nothing


def test_change_offering_hypervisor_rules(cs) -> None:
    # XenServer resizes only offline: the resize's reason is hidden behind the change-offering text (530)
    vm, vol = attached(cs)
    text = failed(cs.job("changeOfferingForVolume", id=vol["id"], diskofferingid=cs.disk_offering("disk-small")), 530)
    assert text == f"Volume change offering operation failed for volume ID: {vol['id']} due to resize volume " \
                   "operation failed"
    cs.result("stopVirtualMachine", id=vm["id"])
    assert cs.result("changeOfferingForVolume", id=vol["id"],
                     diskofferingid=cs.disk_offering("disk-small"))["volume"]["size"] == 10 * GB
    # KVM volumes are QCOW2: no shrinking once materialised, even with shrinkok
    _kvm_vm, kvm_vol = attached(cs, "zone-kvm")
    assert failed(cs.job("changeOfferingForVolume", id=kvm_vol["id"], diskofferingid=cs.disk_offering(), size=2,
                         shrinkok=True), 431) == "Unable to shrink volumes of type QCOW2"
    # same size, other offering: only the offering changes, even on a running VM
    same = cs.result("changeOfferingForVolume", id=kvm_vol["id"], diskofferingid=cs.disk_offering("disk-small"),
                     shrinkok=True)
    assert same["volume"]["size"] == 10 * GB


def test_change_offering_with_a_snapshot_on_primary(cs) -> None:
    vm, vol = attached(cs, stop=True)
    cs.sim.faults.job_duration("createSnapshot", 30)
    cs.ok("createSnapshot", "POST", volumeid=vol["id"])
    text = failed(cs.job("changeOfferingForVolume", id=vol["id"], diskofferingid=cs.disk_offering("disk-small")), 530)
    assert text.startswith("There is/are unbacked up snapshot(s) on this volume")
    assert vm["id"]


def test_resize_rules_in_the_job(cs) -> None:
    vol = cs.volume(size=5)
    cs.sim.faults.job_duration("resizeVolume", 30)
    pending = cs.ok("resizeVolume", "POST", id=vol["id"], size=2)
    assert set(pending) == {"jobid"}  # refusals are not immediate: the job carries them
    cs.sim.faults.clear()
    # a fixed offering resized by size alone is accepted since 4.17 (no strictness)
    fixed = cs.result("changeOfferingForVolume", id=vol["id"], diskofferingid=cs.disk_offering("disk-small"),
                      shrinkok=True)["volume"]
    assert cs.result("resizeVolume", id=fixed["id"], size=20)["volume"]["size"] == 20 * GB
    assert "requires that a size be specified" in failed(
        cs.job("resizeVolume", id=vol["id"], diskofferingid=cs.disk_offering()), 431)
    vm, att = attached(cs)
    assert "must be stopped or the disk detached" in failed(cs.job("resizeVolume", id=att["id"], size=8), 431)
    cs.result("stopVirtualMachine", id=vm["id"])
    assert cs.result("resizeVolume", id=att["id"], size=8)["volume"]["size"] == 8 * GB
    cs.result("destroyVirtualMachine", id=vm["id"])
    root = cs.one("listVolumes", "volume", virtualmachineid=vm["id"], type="ROOT")
    assert "is in state Destroy" in failed(cs.job("resizeVolume", id=root["id"], size=8), 431)
