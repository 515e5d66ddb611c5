"""The kit's pytest fixtures (registered by ``pytest_plugins = ["cpi_framework.testing"]``).

Two families: per-test (``simulator``, ``cpi_config``, ``cpi``), for tests that need a pristine
cloud or a config of their own, and per-module (``shared_simulator``, ``shared_cpi_config``,
``shared_cpi``), for suites whose tests compare the inventory before/after instead of expecting
it empty - the contract suite runs on those, which saves a simulator, a config and a stemcell
per test. Both families take ``hypervisor`` (the zone) and ``cpi_config_overrides`` (what a
plugin changes in the config, e.g. selecting a flavour), so a plugin pins them once for both.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .agent_resolvers import resolvers_for
from .checks import Cpi, Resolver
from .registry import RegistryServer
from .runner import HYPERVISOR_ZONES, CpiResponse, make_cpi_config, run_cpi

__all__ = [
    "agent_resolver",
    "cpi",
    "cpi_config",
    "cpi_config_overrides",
    "hypervisor",
    "hypervisor_zone",
    "registry",
    "shared_cpi",
    "shared_cpi_config",
    "shared_simulator",
    "simulator",
    "simulator_session",
]


def _hypervisors() -> list[str]:
    wanted = os.environ.get("CPI_TEST_HYPERVISORS")
    if not wanted:
        return list(HYPERVISOR_ZONES)
    return [h.strip() for h in wanted.split(",") if h.strip()]


def _caller(default_config: Path) -> Cpi:
    def call(method: str, *args: Any, api_version: int | None = None, context: dict[str, Any] | None = None,
             config: Path | str | None = None, timeout: float = 60) -> CpiResponse:
        return run_cpi(config or default_config, method, *args, api_version=api_version, context=context,
                       timeout=timeout)

    return call


VERSION_ENV = "CPI_TEST_CLOUDSTACK_VERSION"
"""Environment variable naming the CloudStack version the kit's simulators model (``4.5``, ``4.11.3.0``, ...;
a bare profile name such as ``4.5`` takes the version of ``cloudstack_simulator/examples/cloudstack-4.5.yml``).
Unset: the simulator's default (the newest long-term release)."""


def simulator_config() -> dict[str, Any] | None:
    """The kit's simulator config: ``None`` (the default) or the version ``$CPI_TEST_CLOUDSTACK_VERSION`` names."""
    wanted = os.environ.get(VERSION_ENV, "").strip()
    if not wanted:
        return None
    from cloudstack_simulator.versions import PROFILES

    return {"cloudstack_version": PROFILES.get(wanted, wanted)}


def _new_simulator() -> Any:
    from cloudstack_simulator import Simulator

    return Simulator(simulator_config())


@pytest.fixture(scope="session")
def simulator_session() -> Iterator[Any]:
    """One simulator for the whole session (tests must not rely on a clean inventory)."""
    with _new_simulator() as sim:
        yield sim


@pytest.fixture(scope="module")
def shared_simulator() -> Iterator[Any]:
    """One simulator per test module; faults injected by a test are cleared after it."""
    with _new_simulator() as sim:
        yield sim


@pytest.fixture
def simulator() -> Iterator[Any]:
    """A fresh simulator with the default inventory (a ready template per hypervisor zone)."""
    with _new_simulator() as sim:
        yield sim


@pytest.fixture(scope="session", params=_hypervisors())
def hypervisor(request: pytest.FixtureRequest) -> str:
    """Plugin name of the hypervisor under test; override in a plugin's conftest to pin it."""
    return str(request.param)


@pytest.fixture
def hypervisor_zone(hypervisor: str) -> str:
    return HYPERVISOR_ZONES.get(hypervisor, hypervisor)


@pytest.fixture(scope="session")
def cpi_config_overrides() -> dict[str, Any]:
    """Deep-merged into every kit config. A flavour plugin selects itself in its base's zone with
    ``{"cloudstack": {"hypervisor": "ikoula"}}`` while ``hypervisor`` stays ``"xen"``."""
    return {}


@pytest.fixture
def agent_resolver(hypervisor: str) -> Resolver:
    """The bosh-agent ``DevicePathResolutionType`` of the plugin's stemcell (``identity``,
    ``virtio``, ``scsi``, or a tuple that must all agree); disk hints are judged by it.

    Defaults from :data:`.agent_resolvers.STEMCELL_RESOLVERS` by hypervisor name (``identity``,
    the agent's default, when unknown); a plugin whose stemcell differs overrides it."""
    return resolvers_for(hypervisor)


@pytest.fixture
def cpi_config(tmp_path: Path, simulator: Any, hypervisor: str, cpi_config_overrides: dict[str, Any]) -> Path:
    """A CPI config file pointing at ``simulator``'s zone for ``hypervisor``."""
    return make_cpi_config(simulator, hypervisor, tmp_path, **cpi_config_overrides)


@pytest.fixture(scope="module")
def shared_cpi_config(tmp_path_factory: pytest.TempPathFactory, shared_simulator: Any, hypervisor: str,
                      cpi_config_overrides: dict[str, Any]) -> Path:
    """A CPI config file pointing at ``shared_simulator``'s zone for ``hypervisor``."""
    return make_cpi_config(shared_simulator, hypervisor, tmp_path_factory.mktemp("cpi-config"),
                           **cpi_config_overrides)


@pytest.fixture
def cpi(cpi_config: Path) -> Cpi:
    """Run the real CPI process: ``cpi("create_disk", 1024, {}, None, api_version=2)``."""
    return _caller(cpi_config)


@pytest.fixture(scope="module")
def shared_cpi(shared_cpi_config: Path, shared_simulator: Any) -> Iterator[Cpi]:
    """``cpi`` against ``shared_simulator``."""
    yield _caller(shared_cpi_config)


@pytest.fixture(autouse=True)
def _clear_shared_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    """Faults a test injects into the module's shared simulator end with that test."""
    yield
    if "shared_simulator" in request.fixturenames:
        request.getfixturevalue("shared_simulator").faults.clear()


@pytest.fixture
def registry() -> Iterator[RegistryServer]:
    with RegistryServer() as reg:
        yield reg
