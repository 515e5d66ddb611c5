"""Call overhead: ``info`` against ``python -c pass``, CPU per lifecycle method, where import time goes.

Run: ``.venv/bin/python bench/overhead.py [--quick | --smoke] [--json]``.

* ``info`` wall time against a bare interpreter, interleaved (``info_latency.measure``);
* user+sys CPU of the CPI process (``os.wait4``) for each lifecycle method against the
  simulator with zero-latency jobs - wall time there is mostly the client's poll pauses,
  CPU is what the CPI itself costs;
* ``-X importtime`` (``PYTHONPROFILEIMPORTTIME``) of one extra lifecycle round, summed per
  top-level package, for the calls named in ``IMPORT_PROFILE``.
"""

from __future__ import annotations

import os
import re
import sys
from collections import defaultdict
from typing import Any

from common import Result, main, median, run_measured, scratch_dir
from info_latency import TARGET_RATIO, measure
from lifecycle import METHODS, SHORT, run_lifecycle, sparse_image

from cloudstack_simulator import Simulator
from cpi_framework.testing import make_cpi_config

ROUNDS = {"smoke": 1, "quick": 2, "full": 5}
INFO_RUNS = {"smoke": 3, "quick": 15, "full": 30}
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
    """What ``python -c pass`` imports (site, encodings...): the floor every process pays."""
    env = dict(os.environ, PYTHONPROFILEIMPORTTIME="1")
    return import_profile(run_measured([sys.executable, "-c", "pass"], env=env).stderr)


def run(level: str) -> Result:
    result = Result("overhead")
    info = measure(INFO_RUNS[level])
    result.add("info wall / python -c pass", info["ratio"], "x", f"<= {TARGET_RATIO:g}x",
               info["ratio"] <= TARGET_RATIO, f"{info['info_ms']:.0f} vs {info['python_c_pass_ms']:.0f} ms")
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
        os.environ["PYTHONPROFILEIMPORTTIME"] = "1"  # inherited by the CPI children only
        try:
            calls = run_lifecycle(sim, config, image, methods)
        finally:
            os.environ.pop("PYTHONPROFILEIMPORTTIME", None)
        for call in calls:
            if call.method in IMPORT_PROFILE and call.method not in profiles:
                profiles[call.method] = import_profile(call.measured.stderr)
                profiles[call.method]["cpu_ms"] = call.measured.cpu * 1000
    bare = bare_import_profile()
    for method in methods:
        if method not in cpu:
            continue
        result.add(f"CPU {method}", median(cpu[method]) * 1000, "ms",
                   note=f"wall {median(wall[method]) * 1000:.0f} ms, RSS {max(rss[method]) / 2**20:.0f} MiB")
    for method, profile in profiles.items():
        top = ", ".join(f"{name} {ms:.0f}" for name, ms in list(profile["top_ms"].items())[:4])
        result.add(f"imports {method}", profile["total_ms"], "ms", note=f"{profile['modules']} modules; {top}")
    result.add("imports python -c pass", bare["total_ms"], "ms", note=f"{bare['modules']} modules")
    result.details = {"info": info, "rounds": ROUNDS[level], "cpu_ms": {m: [v * 1000 for v in vs]
                                                                        for m, vs in cpu.items()},
                      "wall_ms": {m: [v * 1000 for v in vs] for m, vs in wall.items()},
                      "import_profiles": profiles, "bare_import_profile": bare}
    return result


if __name__ == "__main__":
    raise SystemExit(main(run, __doc__.splitlines()[0]))
