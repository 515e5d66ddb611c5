"""The bosh-agent disk path resolver model's own tests.

The model lives in the test kit, :mod:`cpi_framework.testing.agent_resolvers`, so plugin
authors and the shared contract suite judge hints with it. This package re-exports it for
the core tests that still say ``from agent_model import ...``.
"""

from cpi_framework.testing.agent_resolvers import *  # noqa: F401,F403
from cpi_framework.testing.agent_resolvers import __all__  # noqa: F401
