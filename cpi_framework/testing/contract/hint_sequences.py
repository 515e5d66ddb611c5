"""Disk hints through the sequences that rename guest disks: every stored hint must still reach its disk.

The director stores the hint ``attach_disk`` answered and hands it to the agent again at every
boot (the agent keeps ``disks.persistent`` in its settings), so a hint must stay right after the
guest renamed its disks, not only at the moment of the attach. The sequence here is the one
that breaks hints computed from CloudStack's device id on KVM: attach A, attach B, detach A,
reboot, attach C. After the reboot the guest names B one letter earlier (A's gap is gone), and
C, hot-plugged into the lowest free name, gets B's old one - so a path derived from the device
id leaves B unresolvable and sends C's mount to B's disk. Each step is judged with the agent
model under the plugin's ``agent_resolver`` in the simulator's view of the guest.
"""

from __future__ import annotations

from typing import Any

from ..checks import (
    STEMCELL_CONTEXT,
    Cpi,
    Resolver,
    assert_hint_reaches,
    assert_no_leaks,
    cpi_objects,
    create,
    guest_disk,
    guest_settings,
    ok,
)

__all__ = ["test_hints_survive_detach_reboot_attach"]


def test_hints_survive_detach_reboot_attach(shared_simulator: Any, shared_cpi: Cpi, shared_stemcell: str,
                                            agent_resolver: Resolver) -> None:
    sim, cpi = shared_simulator, shared_cpi
    before = cpi_objects(sim)
    vm = create(cpi, shared_stemcell)
    ephemeral = guest_settings(sim, vm)["disks"]["ephemeral"]
    disk_a, disk_b, disk_c = (ok(cpi("create_disk", 1024, {}, vm, api_version=2)) for _ in range(3))
    hints: dict[str, Any] = {}

    def reaches(disk: str) -> None:
        """The stored hint of ``disk`` reaches ``disk`` in the guest as it is now."""
        assert_hint_reaches(sim, vm, hints[disk], resolver=agent_resolver, cid=disk)

    for disk in (disk_a, disk_b):
        hints[disk] = ok(cpi("attach_disk", vm, disk, api_version=2))
        reaches(disk)
    ok(cpi("detach_disk", vm, disk_a, api_version=2))
    ok(cpi("reboot_vm", vm, api_version=2))
    reaches(disk_b)  # the agent mounts B at boot with the hint stored before the reboot
    hints[disk_c] = ok(cpi("attach_disk", vm, disk_c, api_version=2))
    reaches(disk_c)
    reaches(disk_b)  # C's attach must not have taken over B's stored hint
    assert guest_disk(sim, vm, ephemeral, resolver=agent_resolver)["type"] == "DATADISK"
    hints[disk_a] = ok(cpi("attach_disk", vm, disk_a, api_version=2))  # A back, into B's first slot
    for disk in (disk_a, disk_b, disk_c):
        reaches(disk)
    ok(cpi("delete_vm", vm, api_version=2, context=STEMCELL_CONTEXT))
    for disk in (disk_a, disk_b, disk_c):
        ok(cpi("delete_disk", disk, api_version=2))
    assert_no_leaks(sim, before)
