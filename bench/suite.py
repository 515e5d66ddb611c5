"""Run every benchmark in one go and print one table (what ``bench/run`` executes).

Run: ``bench/run [--quick | --smoke] [--only NAME ...] [--json]``. Benchmarks run one after
another (never in parallel: they measure time); a benchmark that breaks is reported as a
failed row and the rest still run. The exit status is 1 when a benchmark broke, 0 otherwise
(a missed target is a finding shown in the table, not a failure of the run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path
from types import ModuleType

import api_cost
import concurrency
import job_waits
import overhead
import upload
from common import Result, install_name, table, timed, use_release_install

BENCHMARKS: dict[str, ModuleType] = {"overhead": overhead, "api_cost": api_cost, "job_waits": job_waits,
                                     "upload": upload, "concurrency": concurrency}


def run_all(level: str, names: list[str]) -> tuple[list[Result], bool]:
    results, broken = [], False
    for name in names:
        print(f"running {name} ({level})...", file=sys.stderr, flush=True)
        try:
            result = timed(lambda module=BENCHMARKS[name]: module.run(level))
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
            traceback.print_exc()
            result = Result(name)
            result.add("benchmark ran", "no", target="yes", met=False, note=f"{type(exc).__name__}: {exc}"[:300])
            broken = True
        print(f"  {name}: {result.seconds:.0f} s", file=sys.stderr, flush=True)
        results.append(result)
    return results, broken


DOCS = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
BEGIN, END = "<!-- BEGIN bench/run table -->", "<!-- END bench/run table -->"


def write_docs(results: list[Result], level: str, total: float) -> None:
    """docs/performance.md's results table is this run's: the block between the two markers."""
    text = DOCS.read_text(encoding="utf-8")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    block = (f"{BEGIN}\n`bench/run{'' if level == 'full' else ' --' + level}` on {platform.machine()}, "
             f"{os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, CPI from the "
             f"{install_name()}; {total:.0f} s.\n\n{table(results)}\n{END}")
    DOCS.write_text(head + block + tail, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="shorter run: no 4 GiB upload, no 10 s jobs")
    group.add_argument("--smoke", action="store_true", help="tiny configuration (seconds; for the test suite)")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="run only these")
    parser.add_argument("--json", action="store_true", help="print all results as one JSON document")
    parser.add_argument("--write-docs", action="store_true",
                        help="also replace the results table in docs/performance.md with this run's")
    args = parser.parse_args(argv)
    level = "smoke" if args.smoke else "quick" if args.quick else "full"
    started = time.monotonic()
    if level != "smoke":
        print("building the release-style install (cached per source tree)...", file=sys.stderr, flush=True)
        use_release_install()
    results, broken = run_all(level, args.only or list(BENCHMARKS))
    total = time.monotonic() - started
    if args.write_docs:
        write_docs(results, level, total)
    if args.json:
        print(json.dumps({"level": level, "seconds": total, "install": install_name(),
                          "results": [r.to_json() for r in results]}))
    else:
        print(table(results))
        print(f"\n{level} run: {total:.0f} s on {platform.node()} ({platform.python_implementation()} "
              f"{platform.python_version()}, {platform.machine()}); CPI from the {install_name()}")
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
