"""Shared benchmark plumbing: run the real CPI process with exact rusage, result rows, the CLI.

Every figure comes from a child process measured by the kernel (``os.wait4``: wall time,
user+sys CPU of exactly that child) and from the simulator's request log, so the numbers mean
the same as in production: one ``cloudstack-cpi`` process per call.

Peak memory is the child's own ``VmHWM``, written by an ``atexit`` hook (:data:`CPI_MAIN`),
**not** ``ru_maxrss`` from ``wait4``: Linux folds the *parent's* peak RSS into the child's
``ru_maxrss`` at ``exec`` (the pre-exec address space is the parent's, shared by vfork), so a
30 MiB CPI spawned by a 300 MiB test runner reports 300 MiB.

A benchmark module defines ``run(level) -> Result`` with ``level`` one of ``smoke`` (a
seconds-long configuration for the test suite), ``quick`` and ``full``, and calls
:func:`main` from ``__main__``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cpi_framework.testing import DIRECTOR_UUID

LEVELS = ("smoke", "quick", "full")
MiB = 1 << 20
GiB = 1 << 30


# -- measured child processes ----------------------------------------------------------------------


@dataclass
class Measured:
    """One finished child: kernel accounting plus what it printed."""

    wall: float
    user: float
    sys: float
    maxrss: int
    """Peak resident set size in bytes: the child's VmHWM when it reported it, else ``ru_maxrss``
    (an upper bound that includes the parent's peak, see the module docstring)."""
    returncode: int
    stdout: str
    stderr: str
    started: float
    """``time.time()`` at spawn; ``ended`` at reaping, to line up with the simulator's log."""
    ended: float

    @property
    def cpu(self) -> float:
        return self.user + self.sys


HWM_ENV = "CPI_BENCH_HWM_FILE"
HWM_HOOK = f"""import atexit, os
def _report_hwm():
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["{HWM_ENV}"], "w") as out:
        out.write(peak)
if os.environ.get("{HWM_ENV}"):
    atexit.register(_report_hwm)
"""
"""Prepended to a child's code: on exit it writes its own peak RSS (KiB) to ``$CPI_BENCH_HWM_FILE``."""
CPI_MAIN = HWM_HOOK + "import sys\nfrom cpi_framework.cli import main\nsys.exit(main())\n"
"""The ``cloudstack-cpi`` console script's three lines, plus the VmHWM hook."""


RELEASE_LIB: Path | None = None
"""``lib/python`` of the release-style install (``release_install.ensure_install``) the CPI runs from;
None: the repository's virtualenv (``--smoke``: no wheel build in the test suite)."""


def use_release_install() -> Path:
    """Run every CPI child as the release's ``bin/cloudstack-cpi`` does (see ``release_install``)."""
    global RELEASE_LIB
    from release_install import ensure_install

    RELEASE_LIB = ensure_install()
    return RELEASE_LIB


def install_name() -> str:
    return "release-style install (-I -S, wheels)" if RELEASE_LIB else "editable virtualenv"


def cpi_args(flags: tuple[str, ...] = ()) -> list[str]:
    """The CPI process as it runs in production, plus the VmHWM hook.

    With :data:`RELEASE_LIB`: the release wrapper's interpreter line (``python3 -I -S``, the
    install's ``lib/python`` first on ``sys.path``). Otherwise the console script's three lines
    on the virtualenv's interpreter.
    """
    if RELEASE_LIB is not None:
        from release_install import interpreter

        code = (HWM_HOOK + f"import sys\nsys.path.insert(0, {str(RELEASE_LIB)!r})\n"
                "from cpi_framework.cli import main\nraise SystemExit(main())\n")
        return [interpreter(), "-I", "-S", *flags, "-c", code]
    return [sys.executable, *flags, "-c", CPI_MAIN]


def bare_args() -> list[str]:
    """A bare start of the interpreter the CPI runs on, with the same flags: the floor of every call."""
    if RELEASE_LIB is not None:
        from release_install import bare_command

        return bare_command()
    return [sys.executable, "-c", "pass"]


def python_with_hook(script: Path) -> list[str]:
    """Run a Python script as ``__main__`` in a child that reports its VmHWM."""
    return [sys.executable, "-c", f"{HWM_HOOK}import runpy\nrunpy.run_path({str(script)!r}, run_name='__main__')\n"]


def run_measured(args: list[str], stdin: bytes = b"", timeout: float = 120,
                 env: dict[str, str] | None = None) -> Measured:
    """Run ``args`` to completion; a blocking ``wait4`` gives exact wall time and CPU.

    Output goes to temporary files (never a pipe that could fill and stall the child); a timer
    kills the child after ``timeout`` seconds so no benchmark can hang. A child running
    :data:`HWM_HOOK` reports its VmHWM, which becomes ``maxrss``.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as inp, \
            tempfile.NamedTemporaryFile(prefix="cpi-bench-hwm-") as hwm:
        inp.write(stdin)
        inp.seek(0)
        child_env = dict(os.environ if env is None else env, **{HWM_ENV: hwm.name})
        started_wall, started = time.time(), time.perf_counter()
        proc = subprocess.Popen(args, stdin=inp, stdout=out, stderr=err, env=child_env)
        killer = threading.Timer(timeout, _kill, (proc.pid,))
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        reported = Path(hwm.name).read_text().strip()
        maxrss = int(reported) * 1024 if reported.isdigit() else usage.ru_maxrss * 1024
        return Measured(wall, usage.ru_utime, usage.ru_stime, maxrss, proc.returncode,
                        out.read().decode(errors="replace"), err.read().decode(errors="replace"),
                        started_wall, started_wall + wall)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def cpi_request(method: str, args: Iterable[Any], api_version: int | None = 2,
                context: dict[str, Any] | None = None) -> bytes:
    request: dict[str, Any] = {"method": method, "arguments": list(args),
                               "context": context or {"director_uuid": DIRECTOR_UUID}}
    if api_version is not None:
        request["api_version"] = api_version
    return json.dumps(request).encode()


@dataclass
class CpiCall:
    """One CPI call: the process figures, its answer and the CloudStack requests it made."""

    method: str
    measured: Measured
    result: Any
    error: dict[str, Any] | None
    requests: list[dict[str, Any]]

    @property
    def commands(self) -> list[str]:
        return [entry["command"] for entry in self.requests]

    @property
    def ok(self) -> bool:
        return self.error is None and self.measured.returncode == 0


def call_cpi(config: Path, method: str, *args: Any, sim: Any = None, api_version: int | None = 2,
             timeout: float = 120, env: dict[str, str] | None = None, flags: tuple[str, ...] = ()) -> CpiCall:
    """Run the real CPI (:func:`cpi_args`); with ``sim``, collect the requests this call made."""
    mark = len(sim.request_log()) if sim is not None else 0
    measured = run_measured([*cpi_args(flags), "--config", str(config)], cpi_request(method, args, api_version),
                            timeout=timeout, env=env)
    try:
        document = json.loads(measured.stdout)
    except ValueError:
        document = {"error": {"type": "bench", "message": f"stdout is not JSON: {measured.stdout[:300]!r} "
                                                          f"stderr: {measured.stderr[-500:]}"}}
    requests = sim.request_log()[mark:] if sim is not None else []
    return CpiCall(method, measured, document.get("result"), document.get("error"), requests)


def must(call: CpiCall) -> Any:
    """The result of a call that has to succeed for the benchmark to mean anything."""
    if not call.ok:
        raise BenchError(f"{call.method} failed: {call.error} (exit {call.measured.returncode}) "
                         f"{call.measured.stderr[-500:]}")
    return call.result


class BenchError(RuntimeError):
    """A benchmark could not produce its figure (the CPI failed where it must not)."""


# -- results --------------------------------------------------------------------------------------


@dataclass
class Row:
    """One figure: ``value`` in ``unit``; ``met`` is None for figures without a target."""

    metric: str
    value: float | int | str
    unit: str = ""
    target: str = ""
    met: bool | None = None
    note: str = ""


@dataclass
class Result:
    name: str
    rows: list[Row] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, metric: str, value: float | int | str, unit: str = "", target: str = "",
            met: bool | None = None, note: str = "") -> Row:
        row = Row(metric, value, unit, target, met, note)
        self.rows.append(row)
        return row

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "seconds": self.seconds, "rows": [asdict(r) for r in self.rows],
                "details": self.details}


def fmt(value: float | int | str) -> str:
    if isinstance(value, (int, str)):  # bool is an int
        return str(value)
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(results: Iterable[Result]) -> str:
    """One plain-text table of every row (markdown-compatible, so docs can paste it as is)."""
    header = ("benchmark", "metric", "value", "target", "status")
    lines = [header]
    for result in results:
        for row in result.rows:
            status = "" if row.met is None else ("met" if row.met else "MISSED")
            value = f"{fmt(row.value)} {row.unit}".strip()
            if row.note:
                value += f" ({row.note})"
            lines.append((result.name, row.metric, value, row.target, status))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        out.append("| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)) + " |")
        if n == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def median(values: Iterable[float]) -> float:
    data = list(values)
    return statistics.median(data) if data else float("nan")


def timed(fn: Callable[[], Result]) -> Result:
    started = time.monotonic()
    result = fn()
    result.seconds = time.monotonic() - started
    return result


def main(run: Callable[[str], Result], description: str, argv: list[str] | None = None) -> int:
    """The CLI every benchmark shares: ``[--quick | --smoke] [--json]``."""
    parser = argparse.ArgumentParser(description=description)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="shorter run (skips the slowest cases)")
    group.add_argument("--smoke", action="store_true", help="tiny configuration (what the test suite runs)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON document")
    args = parser.parse_args(argv)
    level = "smoke" if args.smoke else "quick" if args.quick else "full"
    if level != "smoke":
        use_release_install()
    result = timed(lambda: run(level))
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        print(table([result]))
        print(f"({result.name}: {level} run, {result.seconds:.0f} s)")
    return 0


def scratch_dir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="cpi-bench-")
