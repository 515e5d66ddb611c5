"""An independent model of the bosh-agent's disk path resolvers, for checking disk hints.

Written from the agent's Go sources (``infrastructure/devicepathresolver``, ``settings``),
never from the plugins: a hint is right only if this model, fed the simulator's view of the
guest, lands on the device of the volume the hint was given for.
"""

from .resolvers import (
    AGENT_RESOLUTION,
    AgentOptions,
    DiskSettings,
    GuestDevices,
    Resolution,
    ResolveError,
    disk_settings,
    resolve,
    resolve_hint,
)

__all__ = [
    "AGENT_RESOLUTION",
    "AgentOptions",
    "DiskSettings",
    "GuestDevices",
    "ResolveError",
    "Resolution",
    "disk_settings",
    "resolve",
    "resolve_hint",
]
