"""A mixed batch of parallel CPI processes against a throttled simulator; shared by the
concurrency test (small batch) and ``bench/soak.py`` (large batches, many rounds).

Every process shares one TMPDIR and writes the CA file for the HTTPS endpoint there, so a
temp-file collision between processes would show as a failed call or a file left behind.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fault_scenarios import STEMCELL_PROPS, image, new_disk, new_vm, ok, template_id
from reliability_support import call, director_env, owned

from cpi_framework.testing.contract import dynamic


@dataclass
class BatchResult:
    calls: int = 0
    failures: list[str] = field(default_factory=list)
    throttled: int = 0
    seconds: float = 0.0
    leftover_temp_files: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    created_vms: list[str] = field(default_factory=list)
    created_disks: list[str] = field(default_factory=list)
    created_stemcells: list[str] = field(default_factory=list)


def plan(sim: Any, config: Path, tmp: Path, size: int) -> list[tuple[str, tuple[Any, ...]]]:
    """``size`` calls, mixed: create_vm, delete_vm, attach_disk, create_disk (and a create_stemcell)."""
    stemcell = template_id(sim)
    calls: list[tuple[str, tuple[Any, ...]]] = []
    for index in range(size):
        kind = index % 4
        if kind == 0:
            calls.append(("create_vm", (f"agent-par-{index}", stemcell, {"compute_offering": "small", "disk": 1024},
                                        {"default": dynamic(default=["dns", "gateway"])}, [], None)))
        elif kind == 1:
            calls.append(("delete_vm", (new_vm(sim, config),)))
        elif kind == 2:
            calls.append(("attach_disk", (new_vm(sim, config), new_disk(config))))
        else:
            calls.append(("create_disk", (2048, {}, None)))
    if size >= 8:
        calls.append(("create_stemcell", (str(image(tmp)), dict(STEMCELL_PROPS))))
    return calls


def run_batch(sim: Any, config: Path, tmp: Path, size: int, rps: float, workers: int | None = None) -> BatchResult:
    calls = plan(sim, config, tmp, size)
    shared_tmp = tmp / "shared-tmpdir"
    shared_tmp.mkdir(exist_ok=True)
    env = director_env(str(shared_tmp))
    sim.reset_log()
    sim.faults.throttle(rps)
    result = BatchResult()
    started = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=workers or len(calls)) as pool:
            futures = [(method, args, pool.submit(call, config, method, *args, env=env, timeout=300))
                       for method, args in calls]
            for method, args, future in futures:
                outcome = future.result()
                result.calls += 1
                result.counts[method] += 1
                if outcome.error is not None:
                    result.failures.append(f"{method}{args[:2]}: {outcome.error}")
                elif method == "create_vm":
                    result.created_vms.append(outcome.result[0])
                elif method == "create_disk":
                    result.created_disks.append(outcome.result)
                elif method == "create_stemcell":
                    result.created_stemcells.append(outcome.result)
    finally:
        sim.faults.throttle(None)
    result.seconds = time.monotonic() - started
    result.throttled = sum(1 for e in sim.request_log() if e.get("status") == 429)
    result.leftover_temp_files = sorted(str(p) for p in shared_tmp.iterdir())
    return result


def expected_objects(sim: Any, config: Path, batch: BatchResult) -> list[str]:
    """Problems with the cloud after a batch: every VM/volume/template tagged by the CPI is accounted for."""
    inventory = sim.inventory()
    problems = []
    vms = {v["id"] for v in owned(inventory, "virtualmachines") if v.get("state") not in ("Destroyed", "Expunging")}
    missing = set(batch.created_vms) - vms
    if missing:
        problems.append(f"created VMs missing: {missing}")
    for vm in batch.created_vms:
        if ok(config, "has_vm", vm) is not True:
            problems.append(f"has_vm false for created VM {vm}")
    volumes = {v["id"] for v in owned(inventory, "volumes")}
    for disk in batch.created_disks:
        if disk not in volumes:
            problems.append(f"created disk missing: {disk}")
    untagged_ours = [v["name"] for v in inventory["volumes"] if str(v.get("name", "")).startswith("bosh-")
                     and v["id"] not in volumes]
    if untagged_ours:
        problems.append(f"untagged CPI volumes: {untagged_ours}")
    untagged_vms = [v["name"] for v in inventory["virtualmachines"] if v["id"] not in vms
                    and v.get("state") not in ("Destroyed", "Expunging")]
    if untagged_vms:
        problems.append(f"untagged or unexpected VMs: {untagged_vms}")
    return problems
