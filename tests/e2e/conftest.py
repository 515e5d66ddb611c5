"""The e2e tier: the real bosh CLI and bosh-agent against the simulator (``bash scripts/e2e``).

Collected only when ``CPI_E2E_BIN`` names the directory holding the ``bosh`` and ``bosh-agent``
binaries that scripts/e2e builds; the fast tier (``bash scripts/test``) leaves it out.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

collect_ignore_glob = [] if os.environ.get("CPI_E2E_BIN") else ["test_*.py"]

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def e2e_dir() -> Path:
    """Scratch space under the ignored build/ folder, fresh per run (kept afterwards for inspection)."""
    path = Path(os.environ.get("CPI_E2E_WORK", REPO / "build" / "e2e" / "run"))
    subprocess.run(["rm", "-rf", str(path)], check=True)
    path.mkdir(parents=True)
    return path


@pytest.fixture(scope="session")
def bosh_home() -> Path:
    """The CLI's HOME: ~/.bosh caches (downloaded releases, installations) persist between runs."""
    path = REPO / "build" / "e2e" / "home"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def cpi_release_host(e2e_dir: Path) -> Path:
    """The CPI release built by the operators' command, with --host-python (create-env compiles in seconds)."""
    from .harness import run_logged, step, tools_dir

    out = e2e_dir / "cloudstack-cpi-host-python.tgz"
    step("building the CPI release with the host's python3 (build_release.py --host-python)")
    run_logged([sys.executable, str(REPO / "release" / "scripts" / "build_release.py"), "--bosh",
                str(tools_dir() / "bosh"), "--host-python", "--host-wheels", "--out", str(out),
                "--work-dir", str(e2e_dir / "release-host")], e2e_dir / "build-release-host.log")
    return out


@pytest.fixture(scope="session")
def minimal_release(e2e_dir: Path, bosh_home: Path) -> Path:
    from .harness import build_minimal_release, step

    step("building the e2e-minimal release (one job, no packages)")
    return build_minimal_release(e2e_dir / "e2e-minimal.tgz", bosh_home)
