"""Integration tests: the CPI test kit is enabled by tests/conftest.py (top-level only, as pytest requires)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from cpi_framework.cloudstack import ClientSettings, CloudStackClient


@pytest.fixture
def client(simulator: Any) -> Iterator[CloudStackClient]:
    """A plain CloudStack client on the simulator, to arrange state the CPI call then meets."""
    with CloudStackClient(ClientSettings(simulator.endpoint, simulator.api_key, simulator.secret_key,
                                         job_timeout=30)) as c:
        yield c
