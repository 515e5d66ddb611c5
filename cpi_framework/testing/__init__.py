"""Test kit for the CPI and its plugins: an opt-in pytest plugin.

Enable it in a ``conftest.py`` with ``pytest_plugins = ["cpi_framework.testing"]`` (it is
never auto-loaded).  Fixtures:

* ``simulator`` - a fresh running :class:`cloudstack_simulator.Simulator` (default config)
  per test; ``simulator_session`` - one shared per session.
* ``hypervisor`` - ``"xen"``/``"kvm"``/``"vmware"``, parametrised over all three (narrow with
  ``CPI_TEST_HYPERVISORS=xen,kvm``; plugins override it to pin their own); ``hypervisor_zone``
  its simulator zone (``HYPERVISOR_ZONES``).
* ``cpi_config`` - path of a CPI config JSON for that zone; :func:`make_cpi_config` builds
  variants with deep-merged overrides.
* ``cpi`` - ``cpi(method, *args, api_version=None, context=None, config=None, timeout=60)``
  runs the real ``cloudstack-cpi`` process and returns a :class:`CpiResponse`.
* ``registry`` - a running :class:`RegistryServer` (BOSH registry double, API v1 path).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .registry import RegistryServer
from .runner import (
    DIRECTOR_UUID,
    HYPERVISOR_ZONES,
    CpiResponse,
    cpi_command,
    cpi_config_dict,
    make_cpi_config,
    run_cpi,
)

__all__ = ["CpiResponse", "RegistryServer", "HYPERVISOR_ZONES", "DIRECTOR_UUID", "make_cpi_config",
           "cpi_config_dict", "run_cpi", "cpi_command"]


def _hypervisors() -> list[str]:
    wanted = os.environ.get("CPI_TEST_HYPERVISORS")
    if not wanted:
        return list(HYPERVISOR_ZONES)
    return [h.strip() for h in wanted.split(",") if h.strip()]


@pytest.fixture(scope="session")
def simulator_session() -> Iterator[Any]:
    """One simulator for the whole session (faster; tests must not rely on a clean inventory)."""
    from cloudstack_simulator import Simulator

    with Simulator() as sim:
        yield sim


@pytest.fixture
def simulator() -> Iterator[Any]:
    """A fresh simulator with the default inventory (a ready template per hypervisor zone)."""
    from cloudstack_simulator import Simulator

    with Simulator() as sim:
        yield sim


@pytest.fixture(scope="session", params=_hypervisors())
def hypervisor(request: pytest.FixtureRequest) -> str:
    """Plugin name of the hypervisor under test; override in a plugin's conftest to pin it."""
    return str(request.param)


@pytest.fixture
def hypervisor_zone(hypervisor: str) -> str:
    return HYPERVISOR_ZONES.get(hypervisor, hypervisor)


@pytest.fixture
def cpi_config(tmp_path: Path, simulator: Any, hypervisor: str) -> Path:
    """A CPI config file pointing at ``simulator``'s zone for ``hypervisor``."""
    return make_cpi_config(simulator, hypervisor, tmp_path)


@pytest.fixture
def cpi(cpi_config: Path) -> Callable[..., CpiResponse]:
    """Run the real CPI process: ``cpi("create_disk", 1024, {}, None, api_version=2)``."""

    def call(method: str, *args: Any, api_version: int | None = None, context: dict[str, Any] | None = None,
             config: Path | str | None = None, timeout: float = 60) -> CpiResponse:
        return run_cpi(config or cpi_config, method, *args, api_version=api_version, context=context,
                       timeout=timeout)

    return call


@pytest.fixture
def registry() -> Iterator[RegistryServer]:
    with RegistryServer() as reg:
        yield reg
