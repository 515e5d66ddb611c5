"""Every benchmark runs in its tiny (``--smoke``) configuration and reports well-formed figures.

Speed is measured by ``bench/run``, never asserted here: these tests only check that each
benchmark still runs against the current CPI and simulator and that its rows have the shape
the table and docs/performance.md rely on. One ``bench/run --smoke --json`` (the real entry
point, wrapper script included) serves all the per-benchmark checks.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"
EXPECTED = {
    "overhead": ["info wall / bare interpreter", "has_vm wall / bare interpreter", "CPU create_vm", "imports create_vm",
                 "imports bare interpreter"],
    "api_cost": ["requests create_vm", "has_vm requests 10 vs 60 VMs", "delete_vm requests 10 vs 60 VMs",
                 "attach_disk requests 10 vs 60 VMs"],
    "job_waits": ["reboot_vm (rebootVirtualMachine 0.3 s): done -> returned"],
    "upload": ["CPI / plain POST rate (16 MiB)", "create_stemcell peak RSS, 8 MiB image"],
    "concurrency": ["3 x create_vm: succeeded", "3 x delete_vm: succeeded", "leaked after deleting"],
}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def suite() -> dict[str, Any]:
    proc = subprocess.run([str(BENCH / "run"), "--smoke", "--json"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    document = json.loads(proc.stdout)
    assert document["level"] == "smoke"
    return {result["name"]: result for result in document["results"]}


def check_rows(result: dict[str, Any]) -> None:
    assert result["rows"], result
    for row in result["rows"]:
        assert set(row) == {"metric", "value", "unit", "target", "met", "note"}, row
        assert row["metric"] and isinstance(row["metric"], str)
        assert row["met"] in (True, False, None), row
        assert (row["met"] is None) or row["target"], f"a met/missed figure needs its target: {row}"
        if row["unit"] in ("x", "ms", "s", "MiB"):
            assert isinstance(row["value"], (int, float)) and math.isfinite(row["value"]) and row["value"] >= 0, row


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_benchmark_reports_its_figures(suite: dict[str, Any], name: str) -> None:
    result = suite[name]
    check_rows(result)
    metrics = [row["metric"] for row in result["rows"]]
    for metric in EXPECTED[name]:
        assert any(m.startswith(metric) for m in metrics), f"{name} lacks {metric!r}: {metrics}"
    assert "benchmark ran" not in metrics, result  # the suite's row for a benchmark that raised


def test_correctness_figures_hold_in_the_smoke_run(suite: dict[str, Any]) -> None:
    """Not timing: request counts that must not depend on the account size, success, no leaks."""
    rows = {row["metric"]: row for result in suite.values() for row in result["rows"]}
    for method in ("has_vm", "attach_disk", "delete_vm"):
        assert rows[f"{method} requests 10 vs 60 VMs"]["met"] is True, rows[f"{method} requests 10 vs 60 VMs"]
    assert rows["3 x create_vm: succeeded"]["value"] == "3/3"
    assert rows["leaked after deleting"]["value"] == 0


def test_a_benchmark_runs_alone_and_info_latency_keeps_its_cli() -> None:
    alone = subprocess.run([sys.executable, str(BENCH / "job_waits.py"), "--smoke", "--json"], capture_output=True,
                           text=True, timeout=120)
    assert alone.returncode == 0, alone.stderr[-3000:]
    check_rows(json.loads(alone.stdout))
    info = subprocess.run([sys.executable, str(BENCH / "info_latency.py"), "--runs", "2", "--json"],
                          capture_output=True, text=True, timeout=120)
    assert info.returncode == 0, info.stderr[-3000:]
    figures = json.loads(info.stdout)
    assert {"runs", "python_c_pass_ms", "info_ms", "ratio", "target_ratio", "meets_target"} <= set(figures)
    assert figures["runs"] == 2 and figures["ratio"] > 0
