"""Core test configuration: the CPI test kit, paths and a minimal valid config file.

The test kit (``cpi_framework.testing``: simulator, ``cpi`` and config fixtures) is enabled
here for the whole ``tests`` tree: pytest accepts ``pytest_plugins`` only in the top-level
conftest, so subdirectories must not declare it again.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from reliability_report import WORKER_KEY, figures_file, merge, write_report
from upload_host_support import ssvm_pki  # noqa: F401 - a fixture for tests/integration and tests/tools

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"

pytest_plugins = ["cpi_framework.testing"]


@pytest.fixture
def minimal_config(tmp_path: Path) -> Path:
    """A valid config pointing at a closed port: methods that touch the network fail fast."""
    path = tmp_path / "cpi.json"
    path.write_text(
        json.dumps(
            {
                "cloudstack": {
                    "endpoint": "http://127.0.0.1:9/client/api",
                    "api_key": "test-api-key-0123",
                    "secret_access_key": "test-secret-key-4567",
                    "default_zone": "zone-xen",
                    "timeouts": {"default": 5},
                    "connect_timeout": 2,
                }
            }
        )
    )
    return path


@pytest.fixture
def cpi_command() -> list[str]:
    """The installed console script, as the release's bin/cpi runs it."""
    script = Path(sys.executable).parent / "cloudstack-cpi"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cpi_framework"]


@pytest.fixture
def clean_env() -> dict[str, str]:
    """The director's environment: only PATH, HOME and TMPDIR (the director's CPI runner passes only these)."""
    return {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
    }


# -- pytest-xdist controller: the reliability figures of all workers, written once (tests/reliability_report.py)
_STARTED = time.time()
_WORKER_FIGURES: list[dict[str, Any]] = []


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    figures = getattr(node, "workeroutput", {}).get(WORKER_KEY)
    if figures:
        _WORKER_FIGURES.append(figures)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if _WORKER_FIGURES:
        run_dir = config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]  # the workers' parent
        write_report(terminalreporter, config, merge(_WORKER_FIGURES), figures_file(run_dir), exitstatus=exitstatus,
                     started=_STARTED)
