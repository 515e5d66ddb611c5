"""The shared CPI lifecycle/contract suite, run against a simulator zone of this plugin's hypervisor.

The suite lives in ``cpi_framework.testing.contract``; ``conftest.py`` pins the ``hypervisor``
fixture and the stemcell's ``agent_resolver``, so every test below runs the real
``cloudstack-cpi`` process with this plugin active and judges its disk hints as the agent would.
A broken kit is an import error here, never a skip.
"""

from __future__ import annotations

from cpi_framework.testing.contract import *  # noqa: F401,F403
