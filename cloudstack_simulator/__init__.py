"""An independent model of the Apache CloudStack management server API, for tests and demos.

It imports nothing from ``cpi_framework``: it is the other side of the wire, written from
the management server's own source (each rule names the server class that implements it;
docs/simulator.md), so the CPI's client
is tested against a second, independent reading of that behaviour.
"""

from .config import ConfigError, load_config
from .simulator import Simulator

__all__ = ["Simulator", "ConfigError", "load_config"]
