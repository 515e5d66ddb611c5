"""The reliability suite's end-of-run figures: written once per run, with or without pytest-xdist.

Without xdist the reliability conftest writes its own counters. Under ``pytest -n`` each worker
counts only the tests it ran and has no terminal: it hands its counters to the controller
(``workeroutput``), and the controller (``tests/conftest.py``, the only conftest it loads) adds
them up and writes the one file and line, so the figures cover the whole run either way.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

WORKER_KEY = "cpi_reliability_figures"
"""Where a worker puts its counters in ``config.workeroutput``."""


def figures_file(run_dir: Path) -> Path:
    """``$CPI_RELIABILITY_FIGURES``, else ``cpi-reliability.json`` in this run's own temp dir."""
    chosen = os.environ.get("CPI_RELIABILITY_FIGURES")
    return Path(chosen) if chosen else run_dir / "cpi-reliability.json"


def merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The workers' counters added up (notes: the last worker's value of each)."""
    counts: Counter[str] = Counter()
    notes: dict[str, Any] = {}
    for part in parts:
        counts.update(part.get("counts", {}))
        notes.update(part.get("notes", {}))
    return {"counts": dict(sorted(counts.items())), "notes": dict(sorted(notes.items()))}


def write_report(terminalreporter: Any, config: Any, figures: dict[str, Any], path: Path, *, exitstatus: int,
                 started: float) -> None:
    """Write the run's ``figures`` as JSON to ``path``; one line naming it, or the whole table with -v or
    ``CPI_RELIABILITY_REPORT=1``. Nothing when the run counted nothing (no reliability test ran)."""
    if not any(figures["counts"].values()):
        return
    heavy = os.environ.get("CPI_HEAVY_TESTS", "").lower() in {"1", "true", "yes"}
    data = {**figures, "tier": "heavy (CPI_HEAVY_TESTS=1)" if heavy else "fast",
            "seconds": round(time.time() - started, 1), "exitstatus": int(exitstatus)}
    try:
        path.write_text(json.dumps(data, indent=2, sort_keys=True))
    except OSError as exc:
        terminalreporter.write_line(f"reliability figures: cannot write {path}: {exc.strerror or exc}")
        return
    if os.environ.get("CPI_RELIABILITY_REPORT") != "1" and config.get_verbosity() < 1:
        problems = data["counts"].get("leaks found", 0) + data["counts"].get("secret hits (must be 0)", 0)
        terminalreporter.write_line(f"reliability figures: {path} ({problems} leaks or secret hits; "
                                    "CPI_RELIABILITY_REPORT=1 prints the table)")
        return
    terminalreporter.section("reliability figures")
    for name, value in data["counts"].items():
        terminalreporter.write_line(f"{name:>40}: {value}")
    for name, value in data["notes"].items():
        terminalreporter.write_line(f"{name:>40}: {value}")
    terminalreporter.write_line(f"(written to {path})")
