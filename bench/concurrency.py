"""Concurrency: 32 ``create_vm`` processes at once against a simulator throttled to 25 requests/s.

Run: ``.venv/bin/python bench/concurrency.py [--quick | --smoke] [--json]``.

All processes start together (as a director with ``max_in_flight`` 32 does), each creating one
VM with an ephemeral disk; every one must succeed despite HTTP 429s. Then all VMs are deleted
the same way and the inventory must be what it was before (no VM, volume, group or NAT left).
The throttle admits 25 requests per 1 s window, so a phase cannot finish faster than
``accepted requests / 25`` seconds: the figure is the actual time against that lower bound.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from common import CpiCall, Result, call_cpi, main, must, scratch_dir
from lifecycle import LIGHT_STEMCELL, VM_PROPS

from cloudstack_simulator import Simulator
from cpi_framework.testing import make_cpi_config
from cpi_framework.testing.contract import cpi_objects, dynamic

PROCESSES = {"smoke": 3, "quick": 32, "full": 32}
RPS = 25
PROCESS_TIMEOUT = 600


def all_at_once(config: Path, calls: list[tuple[str, tuple[Any, ...]]]) -> list[CpiCall]:
    """Start every call in its own process at the same moment; wait for all (each bounded)."""
    results: list[CpiCall | None] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def worker(index: int, method: str, args: tuple[Any, ...]) -> None:
        start.wait(timeout=60)
        results[index] = call_cpi(config, method, *args, timeout=PROCESS_TIMEOUT)

    threads = [threading.Thread(target=worker, args=(i, m, a), daemon=True) for i, (m, a) in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=PROCESS_TIMEOUT + 60)
    missing = [i for i, r in enumerate(results) if r is None]
    if missing:
        raise RuntimeError(f"calls {missing} did not finish")
    return [r for r in results if r is not None]


def phase(sim: Any, config: Path, calls: list[tuple[str, tuple[Any, ...]]]) -> dict[str, Any]:
    mark = len(sim.request_log())
    done = all_at_once(config, calls)
    log = sim.request_log()[mark:]
    accepted = [e for e in log if e["status"] != 429]
    throttled = len(log) - len(accepted)
    span = max(c.measured.ended for c in done) - min(c.measured.started for c in done)
    failures = [f"{c.method}: {c.error}" for c in done if not c.ok]
    return {"calls": done, "seconds": span, "requests": len(accepted), "throttled": throttled,
            "bound": len(accepted) / RPS, "failures": failures}


def run(level: str) -> Result:
    result = Result("concurrency")
    n = PROCESSES[level]
    with scratch_dir() as tmp, Simulator() as sim:
        config = make_cpi_config(sim, "xen", tmp)
        stemcell = must(call_cpi(config, "create_stemcell", "/nonexistent", LIGHT_STEMCELL, sim=sim))
        before = cpi_objects(sim)
        sim.faults.throttle(RPS)
        try:
            create = phase(sim, config, [("create_vm", (f"agent-{i}", stemcell, VM_PROPS, {"default": dynamic()},
                                                        [], {})) for i in range(n)])
            vms = [c.result[0] for c in create["calls"] if c.ok]
            delete = phase(sim, config, [("delete_vm", (vm,)) for vm in vms]) if vms else None
        finally:
            sim.faults.throttle(None)
        after = cpi_objects(sim)
    leaks = {kind: sorted(after[kind] - before[kind]) for kind in after if after[kind] - before[kind]}
    for name, data in (("create_vm", create), ("delete_vm", delete)):
        if data is None:
            continue
        ok = len(data["calls"]) - len(data["failures"])
        result.add(f"{n} x {name}: succeeded", f"{ok}/{len(data['calls'])}", target="all", met=not data["failures"])
        ratio = data["seconds"] / data["bound"]
        result.add(f"{n} x {name}: time / throttle bound", ratio, "x",
                   note=f"{data['seconds']:.1f} s vs {data['requests']} requests / {RPS} rps = "
                        f"{data['bound']:.1f} s; {data['throttled']} answered 429")
    result.add("leaked after deleting", sum(len(v) for v in leaks.values()), target="0", met=not leaks,
               note=", ".join(f"{k}: {len(v)}" for k, v in leaks.items()))
    result.details = {
        "processes": n, "rps": RPS, "leaks": leaks,
        "phases": {name: {k: v for k, v in data.items() if k != "calls"} for name, data in
                   (("create_vm", create), ("delete_vm", delete)) if data is not None},
    }
    return result


if __name__ == "__main__":
    raise SystemExit(main(run, __doc__.splitlines()[0]))
