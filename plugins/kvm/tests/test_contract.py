"""The shared CPI lifecycle/contract suite, run against a simulator zone of this plugin's hypervisor.

The suite lives in ``cpi_framework.testing.contract``; ``conftest.py`` pins the ``hypervisor``
fixture, so every test below runs the real ``cloudstack-cpi`` process with this plugin active.
"""

from __future__ import annotations

import pytest

pytest.importorskip("cpi_framework.testing.contract", reason="cpi_framework.testing.contract is not installed yet")

from cpi_framework.testing.contract import *  # noqa: E402,F401,F403
