"""Call overhead: ``info`` and ``has_vm`` against a bare interpreter, CPU per method, where import time goes.

Run: ``.venv/bin/python bench/overhead.py [--quick | --smoke] [--json]``.

* ``info`` and ``has_vm`` (one request) wall time and CPU against a bare start of the same
  interpreter with the same flags, interleaved, all in the release-style install
  (``release_install``: ``python3 -I -S`` and wheels, as ``bin/cloudstack-cpi`` runs them);
* user+sys CPU of the CPI process (``os.wait4``) for each lifecycle method against the
  simulator with zero-latency jobs - wall time there is mostly the client's poll pauses,
  CPU is what the CPI itself costs;
* ``-X importtime`` of one extra lifecycle round, summed per top-level package, for the calls
  named in ``IMPORT_PROFILE``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from common import (
    Result,
    bare_args,
    call_cpi,
    cpi_args,
    cpi_request,
    install_name,
    main,
    median,
    must,
    run_measured,
    scratch_dir,
)
from lifecycle import LIGHT_STEMCELL, METHODS, SHORT, VM_PROPS, run_lifecycle, sparse_image

from cloudstack_simulator import Simulator
from cpi_framework.testing import make_cpi_config
from cpi_framework.testing.contract import dynamic

ROUNDS = {"smoke": 1, "quick": 2, "full": 5}
STARTUP_RUNS = {"smoke": 3, "quick": 15, "full": 30}
TARGETS = {"info": 4.0, "has_vm": 10.0}
"""Wall time / a bare interpreter start of the same install (issue 18)."""
IMPORT_PROFILE = ("info", "has_vm", "create_vm")
_IMPORT_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|( *)(\S+)\s*$")


def import_profile(stderr: str) -> dict[str, Any]:
    """Sum ``-X importtime`` self times per top-level package; total in ms, top packages first."""
    per_package: dict[str, int] = defaultdict(int)
    total = 0
    for line in stderr.splitlines():
        match = _IMPORT_LINE.match(line)
        if not match:
            continue
        self_us = int(match.group(1))
        name = match.group(4)
        root = name.split(".")[0]
        if root == "cpi_framework" and "." in name:  # the CPI's own modules, one level deeper
            root = ".".join(name.split(".")[:2])
        per_package[root] += self_us
        total += self_us
    top = sorted(per_package.items(), key=lambda item: -item[1])
    return {"total_ms": total / 1000, "modules": sum(1 for line in stderr.splitlines()
                                                      if _IMPORT_LINE.match(line)),
            "top_ms": {name: us / 1000 for name, us in top[:12]}}


def bare_import_profile() -> dict[str, Any]:
    """What a bare interpreter start imports (encodings...): the floor every process pays."""
    bare = bare_args()
    return import_profile(run_measured([bare[0], "-X", "importtime", *bare[1:]]).stderr)


def startup(runs: int) -> dict[str, Any]:
    """``info`` and ``has_vm`` against a bare start, interleaved so load hits all three alike."""
    with scratch_dir() as tmp, Simulator() as sim:
        config = make_cpi_config(sim, "xen", tmp)
        stemcell = must(call_cpi(config, "create_stemcell", "/nonexistent", LIGHT_STEMCELL))
        vm = must(call_cpi(config, "create_vm", "agent-startup", stemcell, VM_PROPS, {"default": dynamic()}, [], {}))[0]
        commands = {"bare": (bare_args(), b""),
                    "info": ([*cpi_args(), "--config", str(config)], cpi_request("info", [])),
                    "has_vm": ([*cpi_args(), "--config", str(config)], cpi_request("has_vm", [vm]))}
        samples: dict[str, list[Any]] = {name: [] for name in commands}
        for args, stdin in commands.values():  # warm the page cache
            run_measured(args, stdin)
        for _ in range(runs):
            for name, (args, stdin) in commands.items():
                measured = run_measured(args, stdin)
                if measured.returncode != 0 or (name != "bare" and '"error": null' not in measured.stdout):
                    raise RuntimeError(f"{name} failed: {measured.stdout[-300:]} {measured.stderr[-300:]}")
                samples[name].append(measured)
        must(call_cpi(config, "delete_vm", vm))
    figures: dict[str, Any] = {"runs": runs}
    for name, measured in samples.items():
        figures[name] = {"wall_ms": median(m.wall for m in measured) * 1000,
                         "cpu_ms": median(m.cpu for m in measured) * 1000}
    return figures


def run(level: str) -> Result:
    result = Result("overhead")
    start = startup(STARTUP_RUNS[level])
    bare = start["bare"]
    for name, target in TARGETS.items():
        ratio = start[name]["wall_ms"] / bare["wall_ms"]
        result.add(f"{name} wall / bare interpreter", ratio, "x", f"<= {target:g}x", ratio <= target,
                   f"{start[name]['wall_ms']:.0f} vs {bare['wall_ms']:.0f} ms; CPU {start[name]['cpu_ms']:.0f} vs "
                   f"{bare['cpu_ms']:.0f} ms = {start[name]['cpu_ms'] / bare['cpu_ms']:.1f}x; {install_name()}")
    methods = SHORT if level == "smoke" else METHODS
    cpu: dict[str, list[float]] = defaultdict(list)
    wall: dict[str, list[float]] = defaultdict(list)
    rss: dict[str, list[int]] = defaultdict(list)
    profiles: dict[str, Any] = {}
    with scratch_dir() as tmp, Simulator() as sim:
        config = make_cpi_config(sim, "xen", tmp)
        image = sparse_image(tmp, 4 << 20)
        for _ in range(ROUNDS[level]):
            for call in run_lifecycle(sim, config, image, methods):
                cpu[call.method].append(call.measured.cpu)
                wall[call.method].append(call.measured.wall)
                rss[call.method].append(call.measured.maxrss)
        calls = run_lifecycle(sim, config, image, methods, flags=("-X", "importtime"))
        for call in calls:
            if call.method in IMPORT_PROFILE and call.method not in profiles:
                profiles[call.method] = import_profile(call.measured.stderr)
                profiles[call.method]["cpu_ms"] = call.measured.cpu * 1000
    bare_imports = bare_import_profile()
    for method in methods:
        if method not in cpu:
            continue
        result.add(f"CPU {method}", median(cpu[method]) * 1000, "ms",
                   note=f"wall {median(wall[method]) * 1000:.0f} ms, RSS {max(rss[method]) / 2**20:.0f} MiB")
    for method, profile in profiles.items():
        top = ", ".join(f"{name} {ms:.0f}" for name, ms in list(profile["top_ms"].items())[:4])
        result.add(f"imports {method}", profile["total_ms"], "ms", note=f"{profile['modules']} modules; {top}")
    result.add("imports bare interpreter", bare_imports["total_ms"], "ms", note=f"{bare_imports['modules']} modules")
    result.details = {"startup": start, "rounds": ROUNDS[level], "cpu_ms": {m: [v * 1000 for v in vs]
                                                                        for m, vs in cpu.items()},
                      "wall_ms": {m: [v * 1000 for v in vs] for m, vs in wall.items()},
                      "import_profiles": profiles, "bare_import_profile": bare_imports}
    return result


if __name__ == "__main__":
    raise SystemExit(main(run, __doc__.splitlines()[0]))
