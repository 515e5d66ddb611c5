"""Through the real CPI against the simulator's VMware zone: the controller details reach
deployVirtualMachine and every hint's ``volume_id`` is the disk's SCSI unit in the guest."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from cloudstack_simulator import Simulator
from cpi_framework.testing import make_cpi_config, run_cpi
from cpi_framework.testing.checks import guest_disk


@pytest.fixture
def roomy(tmp_path: Path) -> Any:
    """A VMware zone allowing 59 data disks (vSphere 7/8), so unit numbers pass the controller's 7."""
    with Simulator(config={"hypervisors": {"VMware": {"max_data_volumes": 59}}}) as simulator:
        yield simulator, partial(run_cpi, make_cpi_config(simulator, "vmware", tmp_path))


def test_scsi_hints_and_controller_details(roomy: Any) -> None:
    simulator, cpi = roomy
    template = next(t["id"] for t in simulator.inventory()["templates"] if t["name"] == "bosh-stemcell-vmware")
    networks = {"default": {"type": "dynamic", "dns": ["10.0.3.2"], "default": ["dns", "gateway"],
                            "cloud_properties": {"name": "bosh-net"}}}
    vm_type = {"compute_offering": "small", "disk": 1024, "root_disk_controller": "pvscsi"}
    created = cpi("create_vm", "agent-vmware", template, vm_type, networks, [], {}, api_version=2)
    assert created.ok, created.error
    vm_cid = created.result[0]
    deploy = [r for r in simulator.request_log() if r["command"] == "deployVirtualMachine"][-1]["params"]
    assert {"pvscsi"} <= set(deploy.values())
    assert "rootDiskController" in json.dumps(deploy) and "dataDiskController" in json.dumps(deploy)
    view = simulator.guest_view(vm_cid)
    settings = json.loads(view["user_data"])
    ephemeral = next(d for d in view["disks"] if d["deviceid"] == 1)
    assert settings["disks"]["ephemeral"] == {"volume_id": str(ephemeral["scsi"]["unit"])}
    disks = [cpi("create_disk", 1024, {}, vm_cid, api_version=2).result for _ in range(7)]
    for disk_cid in disks:  # units 2..6, then 8 and 9: 7 is the controller's own
        hint = cpi("attach_disk", vm_cid, disk_cid, api_version=2).result
        guest = next(d for d in simulator.guest_view(vm_cid)["disks"] if d["volume_id"] == disk_cid)
        assert hint == {"volume_id": str(guest["scsi"]["unit"])}
    units = sorted(d["scsi"]["unit"] for d in simulator.guest_view(vm_cid)["disks"])
    assert units == [0, 1, 2, 3, 4, 5, 6, 8, 9]
    refused = cpi("create_vm", "agent-vmware", template, {**vm_type, "root_disk_controller": "nvme"}, networks, [],
                  {}, api_version=2)
    assert not refused.ok and "root_disk_controller" in refused.error["message"]


def test_ide_root_sequence_hints_resolve_from_unit_0(roomy: Any) -> None:
    """rootDiskController=ide: the root is on IDE (libata, host 0), data disks on the SCSI controller
    from unit 0. Every hint, stored and new, is judged by the agent's scsi resolver through
    attach, detach, reboot and attach again (the volume-id resolver takes the SCSI host from
    the disk at unit 0, so the ephemeral disk there matters too)."""
    simulator, cpi = roomy
    template = next(t["id"] for t in simulator.inventory()["templates"] if t["name"] == "bosh-stemcell-vmware")
    networks = {"default": {"type": "dynamic", "dns": ["10.0.3.2"], "default": ["dns", "gateway"],
                            "cloud_properties": {"name": "bosh-net"}}}
    vm_type = {"compute_offering": "small", "disk": 1024, "root_disk_controller": "ide"}
    created = cpi("create_vm", "agent-vmware", template, vm_type, networks, [], {}, api_version=2)
    assert created.ok, created.error
    vm_cid = created.result[0]
    view = simulator.guest_view(vm_cid)
    root = next(d for d in view["disks"] if d["type"] == "ROOT")
    assert root["bus"] == "ide" and root["path"] == "/dev/sda"
    hints = {"": json.loads(view["user_data"])["disks"]["ephemeral"]}
    assert hints[""] == {"volume_id": "0"}

    def reaches(cid: str) -> None:
        volume = guest_disk(simulator, vm_cid, hints[cid], resolver="scsi", cid=cid)["volume_id"]  # model + agent
        assert volume == (cid or next(d["volume_id"] for d in simulator.guest_view(vm_cid)["disks"]
                                      if d["deviceid"] == 1))

    disks = [cpi("create_disk", 1024, {}, vm_cid, api_version=2).result for _ in range(3)]
    for disk in disks[:2]:
        hints[disk] = cpi("attach_disk", vm_cid, disk, api_version=2).result
        reaches(disk)
    assert cpi("detach_disk", vm_cid, disks[0]).ok
    assert cpi("reboot_vm", vm_cid).ok
    hints[disks[2]] = cpi("attach_disk", vm_cid, disks[2], api_version=2).result
    for cid in ("", disks[1], disks[2]):
        reaches(cid)
    assert hints[disks[1]] == {"volume_id": "2"} and hints[disks[2]] == {"volume_id": "1"}
