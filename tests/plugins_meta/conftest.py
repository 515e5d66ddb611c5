"""Plugin-contract meta-tests: fixtures from the CPI test kit and the fake plugin distributions.

The kit's fixtures are imported by name (as tests/reliability does) because pytest refuses
``pytest_plugins`` in a conftest below ``tests/`` when the whole tree is collected. The fake
distributions under ``data/`` are real ``.dist-info`` directories: putting one on
``PYTHONPATH`` makes ``importlib.metadata`` - and so the CPI process - discover its plugins.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from meta_dists import BROKEN_DIST, DATA, DUP_DIST, HOOKS_DIST  # noqa: F401 - re-exported for fixtures

from cpi_framework.testing import cpi, cpi_config, hypervisor_zone, simulator  # noqa: F401 - fixtures by name


@pytest.fixture
def hypervisor() -> str:
    """The meta-tests compare plugins that extend xen against xen itself."""
    return "xen"


@pytest.fixture
def with_dists(monkeypatch: pytest.MonkeyPatch):
    """``with_dists(HOOKS_DIST, ...)``: make fake distributions discoverable here and in CPI processes."""

    def install(*paths: Path) -> None:
        entries = [str(p) for p in paths]
        for entry in reversed(entries):
            monkeypatch.syspath_prepend(entry)
        old = os.environ.get("PYTHONPATH")
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(entries + ([old] if old else [])))
        for name in [m for m in sys.modules if m.startswith(("cpi_meta_hooks", "cpi_meta_dup"))]:
            monkeypatch.delitem(sys.modules, name)

    return install
