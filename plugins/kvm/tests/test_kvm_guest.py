"""Through the real CPI against the simulator's KVM zone: every hint names the right guest disk
by its virtio serial (the hint's ``path`` is the serial's by-id link), and ConfigDrive networks get their
settings on the ``config-2`` drive."""

from __future__ import annotations

import json
from typing import Any

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
