"""API cost: CloudStack requests per CPI method, against the minimum, and flat in the account size.

Run: ``.venv/bin/python bench/api_cost.py [--quick | --smoke] [--json]``.

1. One full lifecycle (``lifecycle.run_lifecycle``); each call's requests come from the
   simulator's request log. ``MINIMUM`` is the fewest requests the method needs under the
   design's rules (reasoning in docs/performance.md, "API cost").
2. ``has_vm``, ``attach_disk`` and ``delete_vm`` with 10 and 5,000 VMs in the account
   (``populate.populate_vms``): the same requests, and a time ratio <= 1.2.
"""

from __future__ import annotations

from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from common import CpiCall, Result, call_cpi, main, median, must, scratch_dir
from lifecycle import LIGHT_STEMCELL, METHODS, SHORT, VM_PROPS, run_lifecycle, sparse_image
from populate import populate_vms

from cloudstack_simulator import Simulator
from cpi_framework.testing import make_cpi_config
from cpi_framework.testing.contract import dynamic

MINIMUM = {
    "info": 0, "create_stemcell": 6, "calculate_vm_cloud_properties": 2, "create_vm": 14, "has_vm": 1,
    "set_vm_metadata": 4, "create_disk": 6, "has_disk": 1, "attach_disk": 4, "get_disks": 2,
    "set_disk_metadata": 3, "snapshot_disk": 3, "delete_snapshot": 3, "detach_disk": 3, "resize_disk": 4,
    "reboot_vm": 3, "delete_vm": 5, "delete_disk": 3, "delete_stemcell": 3,
}
BENCH_LIFECYCLE = ("create_vm", "has_vm", "set_vm_metadata", "create_disk", "attach_disk", "set_disk_metadata",
                   "detach_disk", "delete_vm", "delete_disk")
"""The lifecycle of issue 18's target: at most ``LIFECYCLE_TARGET`` requests, polls included."""
LIFECYCLE_TARGET = 50
SLOW_JOB = 0.5
"""Every async job of the slow variant takes this long (what polling costs on a real cloud)."""
ASYNC_COMMANDS = ("deployVirtualMachine", "startVirtualMachine", "createTags", "deleteTags", "createVolume",
                  "attachVolume", "detachVolume", "destroyVirtualMachine", "stopVirtualMachine", "deleteVolume")
SIZES = {"smoke": (10, 60), "quick": (10, 5000), "full": (10, 5000)}
REPEATS = {"smoke": 1, "quick": 3, "full": 5}
HAS_VM_RUNS = {"smoke": 2, "quick": 3, "full": 5}
SCALED = ("has_vm", "attach_disk", "delete_vm")
TIME_RATIO = 1.2


def lifecycle_costs(level: str, job_seconds: float = 0.0) -> dict[str, list[str]]:
    with scratch_dir() as tmp, Simulator() as sim:
        config = make_cpi_config(sim, "xen", tmp)
        for command in ASYNC_COMMANDS if job_seconds else ():
            sim.faults.job_duration(command, job_seconds)
        calls = run_lifecycle(sim, config, sparse_image(tmp, 4 << 20), SHORT if level == "smoke" else METHODS)
    costs: dict[str, list[str]] = {}
    for call in calls:
        costs.setdefault(call.method, call.commands)
    return costs


def lifecycle_total(costs: dict[str, list[str]]) -> tuple[int, int]:
    """Requests and, of them, job polls over :data:`BENCH_LIFECYCLE`."""
    commands = [c for method in BENCH_LIFECYCLE for c in costs.get(method, [])]
    return len(commands), sum(1 for c in commands if c == "queryAsyncJobResult")


class Account:
    """A simulator whose account holds ``vms`` VMs, ``repeats`` of them made by the CPI."""

    def __init__(self, stack: ExitStack, tmp: str, vms: int, repeats: int) -> None:
        self.sim = stack.enter_context(Simulator())
        directory = Path(tmp) / f"account-{vms}"
        directory.mkdir()
        self.config = make_cpi_config(self.sim, "xen", directory)
        populate_vms(self.sim, max(0, vms - repeats))
        stemcell = self.call("create_stemcell", "/nonexistent", LIGHT_STEMCELL)
        self.vms = [self.call("create_vm", f"agent-{n}", stemcell, VM_PROPS, {"default": dynamic()}, [], {})[0]
                    for n in range(repeats)]
        self.total = len(self.sim.inventory()["virtualmachines"])
        self.calls: dict[str, list[CpiCall]] = defaultdict(list)

    def call(self, method: str, *args: Any, keep: bool = False) -> Any:
        record = call_cpi(self.config, method, *args, sim=self.sim)
        if keep:
            self.calls[method].append(record)
        return must(record)


def scaled_calls(sizes: tuple[int, int], repeats: int, has_vm_runs: int) -> dict[int, Account]:
    """Both accounts live at once and every measured call alternates between them, so the calls
    pair up (``calls[i]`` of one account ran right next to ``calls[i]`` of the other) and drift
    on a busy machine hits both sides of a pair alike."""
    with scratch_dir() as tmp, ExitStack() as stack:
        accounts = [Account(stack, tmp, size, repeats) for size in sizes]
        for n in range(repeats):
            for _ in range(has_vm_runs):
                for account in accounts:
                    account.call("has_vm", account.vms[n], keep=True)
            disks = [account.call("create_disk", 1024, {}, account.vms[n]) for account in accounts]
            for account, disk in zip(accounts, disks, strict=True):
                account.call("attach_disk", account.vms[n], disk, keep=True)
            for account in accounts:
                account.call("delete_vm", account.vms[n], keep=True)
            for account, disk in zip(accounts, disks, strict=True):
                account.call("delete_disk", disk)
    return dict(zip(sizes, accounts, strict=True))


def server_seconds(call: CpiCall) -> float:
    return sum(entry.get("elapsed", 0.0) for entry in call.requests)


def run(level: str) -> Result:
    result = Result("api_cost")
    costs = lifecycle_costs(level)
    for method, commands in costs.items():
        minimum = MINIMUM.get(method)
        extra = len(commands) - minimum if minimum is not None else 0
        result.add(f"requests {method}", len(commands), target=f"min {minimum}",
                   note=f"+{extra}" if extra > 0 else "")
    details_slow: dict[str, list[str]] = {}
    if level != "smoke":
        total, polls = lifecycle_total(costs)
        result.add("requests, lifecycle of 9 methods, instant jobs", total, target=f"<= {LIFECYCLE_TARGET}",
                   met=total <= LIFECYCLE_TARGET, note=f"{polls} of them job polls")
        details_slow = lifecycle_costs(level, SLOW_JOB)
        total, polls = lifecycle_total(details_slow)
        result.add(f"requests, lifecycle of 9 methods, every job {SLOW_JOB:g} s", total,
                   note=f"{polls} of them job polls")
    small, large = SIZES[level]
    accounts = scaled_calls((small, large), REPEATS[level], HAS_VM_RUNS[level])
    runs = {size: account.calls for size, account in accounts.items()}
    scaling: dict[str, Any] = {}
    for method in SCALED:
        a, b = runs[small][method], runs[large][method]
        same = {tuple(c.commands) for c in a} == {tuple(c.commands) for c in b} and len({tuple(c.commands)
                                                                                        for c in a}) == 1
        wall_a, wall_b = median(c.measured.wall for c in a), median(c.measured.wall for c in b)
        ratio = median(y.measured.wall / x.measured.wall for x, y in zip(a, b, strict=True))
        result.add(f"{method} requests {small} vs {large} VMs", f"{len(a[0].commands)} vs {len(b[0].commands)}",
                   target="same", met=same)
        result.add(f"{method} time {large}/{small} VMs ({len(a)} pairs)", ratio, "x", f"<= {TIME_RATIO}",
                   ratio <= TIME_RATIO,
                   f"{wall_a * 1000:.0f} vs {wall_b * 1000:.0f} ms; CPI CPU "
                   f"{median(c.measured.cpu for c in a) * 1000:.0f} vs {median(c.measured.cpu for c in b) * 1000:.0f}"
                   f" ms; simulator "
                   f"{median(server_seconds(c) for c in a) * 1000:.0f} vs "
                   f"{median(server_seconds(c) for c in b) * 1000:.0f} ms")
        scaling[method] = {"commands": a[0].commands, "wall_ms": {small: [c.measured.wall * 1000 for c in a],
                                                                  large: [c.measured.wall * 1000 for c in b]}}
    result.details = {"lifecycle": costs, "lifecycle_slow_jobs": details_slow, "minimum": MINIMUM, "scaling": scaling,
                      "vms_in_account": {size: account.total for size, account in accounts.items()}}
    return result


if __name__ == "__main__":
    raise SystemExit(main(run, __doc__.splitlines()[0]))
