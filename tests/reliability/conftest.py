"""Reliability suite: a shared simulator fixture and the run's figures.

The CPI test kit (``cpi_framework.testing``) is enabled by the top-level ``tests/conftest.py``.

At session end the figures (requests tried, faults injected, leaks found, ...) are written as
JSON to ``$CPI_RELIABILITY_FIGURES``, by default into this run's own pytest temporary
directory (concurrent runs never share a file), and ``docs/reliability.md`` takes them from
there; under pytest-xdist the controller adds up the workers' figures (``tests/reliability_report.py``).
The terminal gets one line naming the file; ``CPI_RELIABILITY_REPORT=1`` (or ``-v``) prints the
whole table.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from reliability_report import WORKER_KEY, write_report
from reliability_support import FIGURES, RUN_DIR, figures_path

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


def pytest_sessionfinish(session: pytest.Session) -> None:
    """An xdist worker hands its figures to the controller, which writes the run's (tests/conftest.py)."""
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output[WORKER_KEY] = FIGURES.as_dict()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if getattr(config, "workerinput", None) is None:  # not an xdist worker: this process ran every test
        write_report(terminalreporter, config, FIGURES.as_dict(), figures_path(), exitstatus=exitstatus,
                     started=_STARTED)
