"""Through the real CPI against the simulator's KVM zone: every hint names the right guest disk
by its virtio serial (the hint's ``path`` is the serial's by-id link), and ConfigDrive networks get their
settings on the ``config-2`` drive."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from cloudstack_simulator import Simulator
from cpi_framework.testing import make_cpi_config, run_cpi
from cpi_framework.testing.checks import guest_disk, system_disk

NETWORK = {"type": "dynamic", "dns": ["10.0.2.2"], "default": ["dns", "gateway"]}


def create_vm(cpi: Any, simulator: Any, network_name: str = "bosh-net") -> str:
    template = next(t["id"] for t in simulator.inventory()["templates"] if t["name"] == "bosh-stemcell-kvm")
    networks = {"default": {**NETWORK, "cloud_properties": {"name": network_name}}}
    response = cpi("create_vm", "agent-kvm", template, {"compute_offering": "small", "disk": 1024}, networks, [],
                   {}, api_version=2)
    assert response.ok, response.error
    return response.result[0]


def check_hint(simulator: Any, vm_cid: str, volume_id: str, hint: Any) -> None:
    disk = next(d for d in simulator.guest_view(vm_cid)["disks"] if d["volume_id"] == volume_id)
    assert f"/dev/disk/by-id/virtio-{hint['id']}" in disk["by_id"]
    assert hint["path"] in disk["by_id"]  # the link, never the kernel's name: that one moves


def test_hints_name_the_guest_disk_by_serial_and_by_path(cpi: Any, simulator: Any) -> None:
    vm_cid = create_vm(cpi, simulator)
    settings = json.loads(simulator.guest_view(vm_cid)["user_data"])
    ephemeral = next(d for d in simulator.guest_view(vm_cid)["disks"] if d["deviceid"] == 1)
    check_hint(simulator, vm_cid, ephemeral["volume_id"], settings["disks"]["ephemeral"])
    assert settings["disks"]["system"] == "/dev/vda"
    disks = [cpi("create_disk", 1024, {}, vm_cid, api_version=2).result for _ in range(4)]
    for disk_cid in disks:  # device ids 2, 4, 5, 6: past the CD-ROM's 3 the guest names shift
        hint = cpi("attach_disk", vm_cid, disk_cid, api_version=2)
        assert hint.ok, hint.error
        check_hint(simulator, vm_cid, disk_cid, hint.result)
    assert cpi("detach_disk", vm_cid, disks[1]).ok
    again = cpi("attach_disk", vm_cid, disks[1], api_version=2)  # reuses the freed device id and name
    check_hint(simulator, vm_cid, disks[1], again.result)


def test_config_drive_network_gets_settings_on_config_2(cpi: Any, simulator: Any) -> None:
    vm_cid = create_vm(cpi, simulator, "bosh-cd-net")
    view = simulator.guest_view(vm_cid)
    assert view["config_drive_label"] == "config-2"
    settings = json.loads(view["config_drive"]["openstack/latest/user_data"])
    assert settings["agent_id"] == "agent-kvm" and settings["disks"]["system"] == "/dev/vda"


OS_TYPES = ["Other Ubuntu (64-bit)", "Other Linux (64-bit)", "Other PV Virtio-SCSI (64-bit)"]


@pytest.mark.parametrize(("os_type", "catches"), [
    ("Other PV Virtio-SCSI (64-bit)", "guest_disk"),  # every disk virtio-scsi: no virtio-<serial> link
    ("Other Linux (64-bit)", "system_disk"),  # IDE root: /dev/vda is the first data disk, not the root
])
def test_the_kit_catches_a_flavour_whose_os_type_gives_another_bus(tmp_path: Path, os_type: str,
                                                                    catches: str) -> None:
    """A KVM flavour registering its stemcells with such an OS type fails in the kit, not in production."""
    with Simulator(config={"os_types": OS_TYPES}) as simulator:
        cpi = partial(run_cpi, make_cpi_config(simulator, "kvm", tmp_path))
        template = simulator.add_template("zone-kvm", "flavour-stemcell", ostype=os_type)["id"]
        networks = {"default": {**NETWORK, "cloud_properties": {"name": "bosh-net"}}}
        created = cpi("create_vm", "agent-kvm", template, {"compute_offering": "small", "disk": 1024}, networks,
                      [], {}, api_version=2)
        assert created.ok, created.error
        vm_cid = created.result[0]
        disks = json.loads(simulator.guest_view(vm_cid)["user_data"])["disks"]
        if catches == "guest_disk":
            with pytest.raises(AssertionError, match="no device for /dev/disk/by-id/virtio-"):
                guest_disk(simulator, vm_cid, disks["ephemeral"], resolver="virtio")
        else:
            assert guest_disk(simulator, vm_cid, disks["ephemeral"], resolver="virtio")["type"] == "DATADISK"
            with pytest.raises(AssertionError):
                assert system_disk(simulator, vm_cid, disks["system"])["type"] == "ROOT"
