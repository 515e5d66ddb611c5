"""Contract 6.D, persistent disks: one disk through its whole life, across a VM recreate.

Each hint ``attach_disk`` answers is resolved by the agent model under the plugin's
``agent_resolver`` and must reach the attached volume (a hint the real agent would miss fails).
"""

from __future__ import annotations

from typing import Any

from ..checks import STEMCELL_CONTEXT, Cpi, Resolver, assert_hint_reaches, assert_no_leaks, cpi_objects, create, ok

__all__ = ["test_persistent_disk_lifecycle_across_vm_recreate"]


def test_persistent_disk_lifecycle_across_vm_recreate(shared_simulator: Any, shared_cpi: Cpi, shared_stemcell: str,
                                                      agent_resolver: Resolver) -> None:
    """6.D 23-28, 34, 35: create_disk near a VM → attach (idempotent) → get_disks → snapshot → detach →
    resize → attach again → delete_vm keeps the still-attached disk → create_vm with ``disk_cids`` →
    attach to the new VM → delete_disk."""
    sim, cpi = shared_simulator, shared_cpi

    def attach(vm: str, disk: str) -> Any:
        hint = ok(cpi("attach_disk", vm, disk, api_version=2, context=STEMCELL_CONTEXT))
        assert hint, "attach_disk answered no hint"
        assert_hint_reaches(sim, vm, hint, resolver=agent_resolver, cid=disk)
        assert disk in ok(cpi("get_disks", vm, api_version=2))
        return hint

    before = cpi_objects(sim)
    vm = create(cpi, shared_stemcell)
    disk = ok(cpi("create_disk", 2048, {}, vm, api_version=2))
    assert ok(cpi("has_disk", disk, api_version=2)) is True
    hint = attach(vm, disk)
    assert ok(cpi("attach_disk", vm, disk, api_version=2)) == hint  # 25: attaching again is a no-op
    snapshot = ok(cpi("snapshot_disk", disk, {"deployment": "d", "job": "j", "index": 0, "director_uuid": "u"},
                      api_version=2))
    assert ok(cpi("delete_snapshot", snapshot, api_version=2)) is None
    assert ok(cpi("detach_disk", vm, disk, api_version=2)) is None
    assert disk not in ok(cpi("get_disks", vm, api_version=2))
    assert ok(cpi("resize_disk", disk, 4096, api_version=2)) is None
    attach(vm, disk)

    # 34: delete_vm detaches and keeps a persistent disk; 35: the next VM is placed where it attaches
    assert ok(cpi("delete_vm", vm, api_version=2, context=STEMCELL_CONTEXT)) is None
    assert ok(cpi("has_disk", disk, api_version=2)) is True
    volume = next(v for v in sim.inventory()["volumes"] if v["id"] == disk)
    assert volume["size"] == 4 * 2**30 and not volume.get("virtualmachineid"), volume
    vm = create(cpi, shared_stemcell, disk_cids=[disk])
    attach(vm, disk)
    assert ok(cpi("delete_vm", vm, api_version=2)) is None
    assert ok(cpi("delete_disk", disk, api_version=2)) is None
    assert ok(cpi("has_disk", disk, api_version=2)) is False
    assert_no_leaks(sim, before)
