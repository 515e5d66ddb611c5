"""Reliability suite: a shared simulator fixture and the run's figures.

The CPI test kit (``cpi_framework.testing``) is enabled by the top-level ``tests/conftest.py``.

At session end the figures (requests tried, faults injected, leaks found, ...) are written as
JSON to ``$CPI_RELIABILITY_FIGURES``, by default into this run's own pytest temporary
directory (concurrent runs never share a file), and ``docs/reliability.md`` takes them from
there. The terminal gets one line naming the file; ``CPI_RELIABILITY_REPORT=1`` (or ``-v``)
prints the whole table.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest
from reliability_support import FIGURES, HEAVY, RUN_DIR, figures_path

_STARTED = time.time()



for _name in ("leaks found", "fault matrix: persistent disks lost", "secret hits (must be 0)"):
    FIGURES.add(_name, 0)  # reported as 0, not left out, when nothing was found


@pytest.fixture
def sim(simulator_session: Any) -> Any:
    """The session's simulator with an empty request log and no faults (cheaper than a fresh one).

    Tests using it must leave the inventory as they found it (the bad-input checks restore
    it whenever a fuzzed request turned out valid and did real work).
    """
    simulator_session.reset(log=True, faults=True, state=False)
    yield simulator_session
    simulator_session.reset(log=True, faults=True, state=False)


@pytest.fixture(scope="session", autouse=True)
def _run_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    RUN_DIR[:] = [tmp_path_factory.getbasetemp()]


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    data = FIGURES.as_dict()
    if not any(data["counts"].values()):
        return
    data["tier"] = "heavy (CPI_HEAVY_TESTS=1)" if HEAVY else "fast"
    data["seconds"] = round(time.time() - _STARTED, 1)
    data["exitstatus"] = int(exitstatus)
    path = figures_path()
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
