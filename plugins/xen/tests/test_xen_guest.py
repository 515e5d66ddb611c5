"""Through the real CPI against the simulator's XenServer zone: settings where the CloudStack
stemcell reads them, and every hint's path naming the right guest disk."""

from __future__ import annotations

import json
from typing import Any


def test_settings_and_hints_match_the_guest(cpi: Any, simulator: Any) -> None:
    template = next(t["id"] for t in simulator.inventory()["templates"] if t["name"] == "bosh-stemcell-xen")
    networks = {"default": {"type": "dynamic", "dns": ["10.0.1.2"], "default": ["dns", "gateway"],
                            "cloud_properties": {"name": "bosh-net"}}}
    created = cpi("create_vm", "agent-xen", template, {"compute_offering": "small", "disk": 1024}, networks, [], {},
                  api_version=2)
    assert created.ok, created.error
    vm_cid = created.result[0]
    view = simulator.guest_view(vm_cid)
    assert view["user_data_source"] == "virtual-router"
    settings = json.loads(view["user_data"])
    assert settings["agent_id"] == "agent-xen"
    paths = {d["volume_id"]: d["path"] for d in view["disks"]}
    root = next(d["volume_id"] for d in view["disks"] if d["deviceid"] == 0)
    ephemeral = next(d["volume_id"] for d in view["disks"] if d["deviceid"] == 1)
    assert settings["disks"]["system"] == paths[root] == "/dev/xvda"
    assert settings["disks"]["ephemeral"]["path"] == paths[ephemeral]
    for _ in range(3):  # device ids 2, 4, 5 (3 is the CD-ROM)
        disk_cid = cpi("create_disk", 1024, {}, vm_cid, api_version=2).result
        hint = cpi("attach_disk", vm_cid, disk_cid, api_version=2).result
        guest = next(d for d in simulator.guest_view(vm_cid)["disks"] if d["volume_id"] == disk_cid)
        assert hint == {"path": guest["path"], "volume_id": str(guest["deviceid"])}
