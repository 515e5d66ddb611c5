"""The hypervisors' disk bus rules in the guest view (cloudstack_simulator/disk_bus.py)."""

from __future__ import annotations

from typing import Any

import pytest

from cloudstack_simulator.disk_bus import guest_disk_model

OS_TYPES = ["Other Ubuntu (64-bit)", "Other Linux (64-bit)", "Other PV Virtio-SCSI (64-bit)", "Ubuntu 22.04 LTS"]


@pytest.mark.parametrize(("emulator", "bus"), [
    ("Other Ubuntu (64-bit)", "virtio"), ("Ubuntu 22.04 LTS", "virtio"), ("Debian GNU/Linux 12 (64-bit)", "virtio"),
    ("CentOS 7", "virtio"), ("Other PV (64-bit)", "virtio"), ("Other PV Virtio-SCSI (64-bit)", "scsi"),
    ("Other Linux (64-bit)", "ide"), ("Windows Server 2019", "ide"), (None, "ide"),
])
def test_kvm_root_bus_by_os_type(emulator: str | None, bus: str) -> None:
    # LibvirtComputingResource.getGuestDiskModel
    assert guest_disk_model(emulator) == bus


def disks(cs: Any, vm_id: str) -> dict[int, dict[str, Any]]:
    return {d["deviceid"]: d for d in cs.sim.guest_view(vm_id)["disks"]}


def kvm_vm(cs: Any, ostype: str, **params: Any) -> dict[str, Any]:
    template = cs.sim.add_template("zone-kvm", f"tpl-{ostype}", ostype=ostype)
    return cs.deploy(zone="zone-kvm", templateid=template["id"], **params)


def test_kvm_other_linux_gets_an_ide_root_and_virtio_data_disks(make_sim: Any) -> None:
    cs = make_sim({"os_types": OS_TYPES})
    vm = kvm_vm(cs, "Other Linux (64-bit)")
    vol = cs.volume(zone="zone-kvm")
    cs.result("attachVolume", id=vol["id"], virtualmachineid=vm["id"])
    by_dev = disks(cs, vm["id"])
    assert (by_dev[0]["bus"], by_dev[0]["path"]) == ("ide", "/dev/sda")
    assert by_dev[0]["by_id"][0].startswith("/dev/disk/by-id/ata-QEMU_HARDDISK_")
    serial = vol["id"].replace("-", "")[:20]
    assert (by_dev[1]["bus"], by_dev[1]["path"]) == ("virtio", "/dev/vda")  # the first virtio disk
    assert by_dev[1]["by_id"] == [f"/dev/disk/by-id/virtio-{serial}"]


def test_kvm_virtio_scsi_os_type_puts_every_disk_on_scsi(make_sim: Any) -> None:
    cs = make_sim({"os_types": OS_TYPES})
    vm = kvm_vm(cs, "Other PV Virtio-SCSI (64-bit)")
    vol = cs.volume(zone="zone-kvm")
    cs.result("attachVolume", id=vol["id"], virtualmachineid=vm["id"])
    by_dev = disks(cs, vm["id"])
    assert [(d["bus"], d["path"]) for d in by_dev.values()] == [("scsi", "/dev/sda"), ("scsi", "/dev/sdb")]
    assert by_dev[1]["by_id"][0].startswith("/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_")


def test_kvm_rbd_pool_gives_data_disks_the_root_bus_at_start(make_sim: Any) -> None:
    cs = make_sim({"os_types": OS_TYPES, "hypervisors": {"KVM": {"storage_pool_type": "RBD"}}})
    vm = kvm_vm(cs, "Other Linux (64-bit)")
    vol = cs.volume(zone="zone-kvm")
    cs.result("attachVolume", id=vol["id"], virtualmachineid=vm["id"])
    assert disks(cs, vm["id"])[1]["bus"] == "virtio"  # hot-plugged: virtio
    cs.result("stopVirtualMachine", id=vm["id"])
    cs.result("startVirtualMachine", id=vm["id"])
    assert disks(cs, vm["id"])[1]["bus"] == "ide"  # defined at start on RBD: the root's bus


def test_kvm_root_disk_controller_detail_wins_over_the_os_type(make_sim: Any) -> None:
    cs = make_sim({"os_types": OS_TYPES})
    vm = kvm_vm(cs, "Other Linux (64-bit)", **{"details[0].rootDiskController": "virtio"})
    assert disks(cs, vm["id"])[0]["bus"] == "virtio"


def vmware_vm(cs: Any, template_details: dict[str, str] | None = None, **params: Any) -> dict[str, Any]:
    template = cs.sim.add_template("zone-vmware", "tpl-vmw", details=template_details or {})
    return cs.deploy(zone="zone-vmware", templateid=template["id"], **params)


def units(cs: Any, vm_id: str) -> dict[int, Any]:
    return {dev: (d["bus"], d["scsi"].get("unit")) for dev, d in disks(cs, vm_id).items()}


def test_vmware_ide_root_from_template_details_puts_data_disks_at_unit_0(make_sim: Any) -> None:
    cs = make_sim()
    vm = vmware_vm(cs, {"rootDiskController": "ide"})
    for _ in range(2):
        cs.result("attachVolume", id=cs.volume(zone="zone-vmware")["id"], virtualmachineid=vm["id"])
    assert units(cs, vm["id"]) == {0: ("ide", None), 1: ("scsi", 0), 2: ("scsi", 1)}
    assert disks(cs, vm["id"])[0]["scsi"] == {"host": 0, "channel": 0, "target": 0, "lun": 0}


def test_vmware_deploy_detail_overrides_the_template_and_scsi_root_takes_unit_0(make_sim: Any) -> None:
    cs = make_sim()
    vm = vmware_vm(cs, {"rootDiskController": "ide"}, **{"details[0].rootDiskController": "scsi"})
    cs.result("attachVolume", id=cs.volume(zone="zone-vmware")["id"], virtualmachineid=vm["id"])
    assert units(cs, vm["id"]) == {0: ("scsi", 0), 1: ("scsi", 1)}


def test_vmware_start_lays_units_out_again_and_reboot_keeps_them(make_sim: Any) -> None:
    cs = make_sim()
    vm = vmware_vm(cs)
    vols = [cs.volume(zone="zone-vmware") for _ in range(3)]
    for vol in vols:
        cs.result("attachVolume", id=vol["id"], virtualmachineid=vm["id"])
    cs.result("detachVolume", id=vols[0]["id"])
    cs.result("rebootVirtualMachine", id=vm["id"])
    assert units(cs, vm["id"]) == {0: ("scsi", 0), 2: ("scsi", 2), 4: ("scsi", 3)}
    cs.result("stopVirtualMachine", id=vm["id"])
    cs.result("startVirtualMachine", id=vm["id"])  # StartCommand tears the disks down and re-adds them
    assert units(cs, vm["id"]) == {0: ("scsi", 0), 2: ("scsi", 1), 4: ("scsi", 2)}
