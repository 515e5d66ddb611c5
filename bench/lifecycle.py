"""The full CPI lifecycle the director drives, call by call, against one simulator zone.

Shared by ``overhead`` (CPU per method) and ``api_cost`` (requests per method): the same
sequence as the contract suite's lifecycle test, with a real (small) direct-upload stemcell
so ``create_stemcell`` runs its whole path. Jobs take zero time unless the caller set faults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from common import CpiCall, call_cpi, must

from cpi_framework.testing.contract import dynamic

STEMCELL_PROPS = {"name": "bosh-cloudstack-xen-ubuntu-jammy-go_agent", "version": "1.181",
                  "infrastructure": "cloudstack", "hypervisor": "xen", "disk_format": "vhdx",
                  "architecture": "x86_64"}
LIGHT_STEMCELL = {"name": "bench", "version": "1", "infrastructure": "cloudstack", "hypervisor": "xen",
                  "architecture": "x86_64", "light_template": "bosh-stemcell-xen"}
"""A light stemcell borrowing the simulator's ready Xen template: no upload where none is measured."""
VM_PROPS = {"compute_offering": "small", "disk": 1024}
METADATA = {"director": "bench", "deployment": "bench", "name": "web/0", "job": "web", "index": 0, "team": "cpi"}
ENV = {"bosh": {"group": "bench-web", "tags": {"team": "cpi"}}}

METHODS = ("info", "create_stemcell", "calculate_vm_cloud_properties", "create_vm", "has_vm", "set_vm_metadata",
           "create_disk", "has_disk", "attach_disk", "get_disks", "set_disk_metadata", "snapshot_disk",
           "delete_snapshot", "detach_disk", "resize_disk", "reboot_vm", "delete_vm", "delete_disk",
           "delete_stemcell")
SHORT = ("info", "create_stemcell", "create_vm", "has_vm", "delete_vm", "delete_stemcell")
"""The smoke subset: one call of each layer (light, upload, VM build, lookup, delete path)."""


def sparse_image(directory: Path, size: int, name: str = "image") -> Path:
    """A sparse file of ``size`` bytes: no disk space, read back as zeros at memory speed."""
    path = Path(directory) / name
    with open(path, "wb") as stream:
        stream.truncate(size)
    return path


def run_lifecycle(sim: Any, config: Path, image: Path, methods: tuple[str, ...] = METHODS,
                  flags: tuple[str, ...] = ()) -> list[CpiCall]:
    """Run ``methods`` in lifecycle order (each needs the objects the earlier ones made)."""
    calls: list[CpiCall] = []
    state: dict[str, Any] = {}

    def call(method: str, *args: Any) -> Any:
        record = call_cpi(config, method, *args, sim=sim, flags=flags)
        calls.append(record)
        return must(record)

    wanted = set(methods)
    if "info" in wanted:
        call("info")
    state["stemcell"] = call("create_stemcell", str(image), STEMCELL_PROPS)
    if "calculate_vm_cloud_properties" in wanted:
        call("calculate_vm_cloud_properties", {"cpu": 2, "ram": 2048, "ephemeral_disk_size": 4096})
    vm = call("create_vm", "agent-bench", state["stemcell"], VM_PROPS, {"default": dynamic()}, [], ENV)[0]
    steps: list[tuple[str, tuple[Any, ...]]] = [("has_vm", (vm,)), ("set_vm_metadata", (vm, METADATA))]
    for method, args in steps:
        if method in wanted:
            call(method, *args)
    disk = None
    if wanted & {"create_disk", "delete_disk"}:
        disk = call("create_disk", 2048, {}, vm)
        disk_steps: list[tuple[str, tuple[Any, ...]]] = [
            ("has_disk", (disk,)), ("attach_disk", (vm, disk)), ("get_disks", (vm,)),
            ("set_disk_metadata", (disk, METADATA)), ("snapshot_disk", (disk, METADATA)),
        ]
        for method, args in disk_steps:
            if method in wanted:
                result = call(method, *args)
                if method == "snapshot_disk" and "delete_snapshot" in wanted:
                    call("delete_snapshot", result)
        if "attach_disk" in wanted:
            call("detach_disk", vm, disk)
        if "resize_disk" in wanted:
            call("resize_disk", disk, 4096)
    if "reboot_vm" in wanted:
        call("reboot_vm", vm)
    call("delete_vm", vm)
    if disk is not None:
        call("delete_disk", disk)
    call("delete_stemcell", state["stemcell"])
    return calls
