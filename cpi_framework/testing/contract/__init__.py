"""The shared CPI contract suite: the whole lifecycle through the real ``cloudstack-cpi`` process.

Run it from any test module whose conftest enables the kit (``pytest_plugins =
["cpi_framework.testing"]``)::

    from cpi_framework.testing.contract import *  # noqa: F401,F403

Every test runs against the module's ``shared_simulator`` zone of ``hypervisor`` (a plugin pins
its own) with one light stemcell (``shared_stemcell``), and judges disk hints with the agent
model under ``agent_resolver``. Because tests share the simulator, each compares the CPI's
objects before and after (:func:`assert_no_leaks`) instead of expecting an empty cloud.

Scenario labels (``6.D 20``…) are stable names for traceability between tests and docs: :mod:`.vm` and :mod:`.disk`
(D, VM and disk lifecycle), :mod:`.error_cases` (F), :mod:`.sequences` (G, director and CLI
call sequences), :mod:`.hint_sequences` (disk hints through reboots and detaches).
``stemcell`` is the per-test variant for tests that use the per-test
``simulator``/``cpi``. Where the agent oracle runs (:mod:`..agent_oracle`), the real agent's
code judges every hint and settings document beside the model; :mod:`.oracle` reports it.
"""

from __future__ import annotations

from ..checks import (  # noqa: F401 - importers use these from here
    STEMCELL_CONTEXT,
    Cpi,
    assert_hint_reaches,
    assert_no_leaks,
    cpi_objects,
    create,
    dynamic,
    failed,
    free_ip,
    guest_disk,
    guest_settings,
    ok,
    public_ip,
    zone_network,
)
from . import disk, error_cases, fixtures, hint_sequences, oracle, sequences, vm
from .disk import *  # noqa: F401,F403
from .error_cases import *  # noqa: F401,F403
from .fixtures import *  # noqa: F401,F403
from .hint_sequences import *  # noqa: F401,F403
from .oracle import *  # noqa: F401,F403
from .sequences import *  # noqa: F401,F403
from .vm import *  # noqa: F401,F403

__all__ = [*fixtures.__all__, *vm.__all__, *disk.__all__, *error_cases.__all__, *sequences.__all__,
           *hint_sequences.__all__, *oracle.__all__]
