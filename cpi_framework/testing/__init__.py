"""Test kit for the CPI and its plugins: an opt-in pytest plugin.

Enable it in a ``conftest.py`` with ``pytest_plugins = ["cpi_framework.testing"]`` (it is
never auto-loaded). Fixtures (:mod:`.fixtures`):

* ``simulator`` - a fresh running :class:`cloudstack_simulator.Simulator` (default config) per
  test; ``shared_simulator`` - one per test module; ``simulator_session`` - one per session.
* ``hypervisor`` - ``"xen"``/``"kvm"``/``"vmware"``, parametrised over all three (narrow with
  ``CPI_TEST_HYPERVISORS=xen,kvm``; plugins override it to pin their own); ``hypervisor_zone``
  its simulator zone (``HYPERVISOR_ZONES``).
* ``cpi_config_overrides`` - deep-merged into every config below (a flavour selects itself here).
* ``cpi_config`` / ``shared_cpi_config`` - path of a CPI config JSON for that zone of
  ``simulator`` / ``shared_simulator``; :func:`make_cpi_config` builds variants.
* ``cpi`` / ``shared_cpi`` - ``cpi(method, *args, api_version=None, context=None, config=None,
  timeout=60)`` runs the real ``cloudstack-cpi`` process and returns a :class:`CpiResponse`.
* ``agent_resolver`` - the bosh-agent disk resolver type(s) of the plugin's stemcell; hints are
  judged by the agent model (:mod:`.agent_resolvers`) under it.
* ``registry`` - a running :class:`RegistryServer` (BOSH registry double, API v1 path).

The shared contract suite is :mod:`.contract`; the checks it uses (guest views, leak
detection, answers) are :mod:`.checks`. docs/testing.md walks through all of it.
"""

from __future__ import annotations

from .fixtures import *  # noqa: F401,F403 - the fixtures are this plugin's API
from .fixtures import _clear_shared_faults  # noqa: F401
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
