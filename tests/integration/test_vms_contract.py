"""The shared contract suite (cpi_framework.testing.contract) in the core suite, against the xen zone.

Each plugin's own tests run the same suite for its hypervisor; here the core runs it once, with
the default ``agent_resolver`` for xen (the kit's mapping by hypervisor name).
"""

from __future__ import annotations

import pytest

from cpi_framework.testing.contract import *  # noqa: F401,F403


@pytest.fixture(scope="session")
def hypervisor() -> str:
    return "xen"
