"""Reliability soak: bigger parallel batches for many rounds, then the heavy reliability suite.

Run: ``.venv/bin/python bench/soak.py [--rounds 5] [--batch 32] [--rps 20] [--workers 32]
[--suite] [--json]``. Each round runs ``--batch`` mixed CPI processes (create_vm, delete_vm,
attach_disk, create_disk, create_stemcell) at once against one throttled HTTPS simulator whose
state carries over between rounds, then checks that no call failed, no temp file stayed, and
every CPI object is accounted for. ``--suite`` afterwards runs ``tests/reliability`` with
``CPI_HEAVY_TESTS=1`` (full fault matrix, 600 hypothesis examples per property, 12 kills per
crash test). Everything stays on 127.0.0.1 and every loop is bounded by its arguments.

Exit status 0 when every round was clean (and the suite passed), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "reliability"))

from parallel_batch import expected_objects, run_batch  # noqa: E402 - the test helpers, reused as they are

from cloudstack_simulator import Simulator  # noqa: E402
from cloudstack_simulator.tls import make_test_ca  # noqa: E402
from cpi_framework.testing import make_cpi_config  # noqa: E402


def soak(rounds: int, batch: int, rps: float, workers: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="cpi-soak-") as tmpdir:
        tmp = Path(tmpdir)
        ca, cert, key = make_test_ca(tmp / "pki")
        with Simulator(tls=(cert, key)) as sim:
            config = make_cpi_config(sim, "xen", tmp, cloudstack={"ca_cert": ca.read_text(),
                                                                  "timeouts": {"default": 600}})
            for number in range(1, rounds + 1):
                result = run_batch(sim, config, tmp, batch, rps, workers)
                problems = expected_objects(sim, config, result)
                row = {"round": number, "calls": result.calls, "failures": len(result.failures),
                       "throttled": result.throttled, "seconds": round(result.seconds, 1),
                       "temp_files_left": len(result.leftover_temp_files), "leaks": len(problems),
                       "details": (result.failures + problems + result.leftover_temp_files)[:10]}
                rows.append(row)
                print(f"round {number}: {result.calls} calls in {result.seconds:.1f}s, {result.throttled} x 429, "
                      f"{len(result.failures)} failed, {len(problems)} leak problems, "
                      f"{len(result.leftover_temp_files)} temp files left", file=sys.stderr, flush=True)
    return rows


def heavy_suite() -> int:
    env = {**os.environ, "CPI_HEAVY_TESTS": "1"}
    command = [sys.executable, "-m", "pytest", str(REPO / "tests" / "reliability"), "-q", "-p", "no:cacheprovider"]
    return subprocess.run(command, cwd=REPO, env=env, timeout=4 * 3600).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=32, help="parallel CPI processes per round")
    parser.add_argument("--rps", type=float, default=20, help="simulator throttle, requests per second")
    parser.add_argument("--workers", type=int, default=0, help="max processes at once (0: the whole batch)")
    parser.add_argument("--suite", action="store_true", help="then run tests/reliability with CPI_HEAVY_TESTS=1")
    parser.add_argument("--json", action="store_true", help="print the rounds as JSON on stdout")
    args = parser.parse_args(argv)
    started = time.monotonic()
    rows = soak(max(1, args.rounds), max(4, args.batch), args.rps, args.workers or args.batch + 1)
    clean = all(r["failures"] == 0 and r["leaks"] == 0 and r["temp_files_left"] == 0 for r in rows)
    suite_status = heavy_suite() if args.suite else 0
    summary = {"rounds": rows, "clean": clean, "suite_exit": suite_status,
               "seconds": round(time.monotonic() - started, 1)}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        total = sum(int(r["calls"]) for r in rows)
        print(f"soak: {len(rows)} rounds, {total} calls, clean={clean}, heavy suite exit={suite_status}")
    return 0 if clean and suite_status == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
