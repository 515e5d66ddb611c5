"""``listApis``: the commands the account's role may call (the api-discovery plugin).

Only names, async flags and a one-line description are modelled; the real answer also lists
every parameter and response field (``ApiDiscoveryResponse``), which no client here reads.
"""

from __future__ import annotations

from typing import Any

from .. import limits
from ..errors import CS_SERVER_API, ApiError
from ..params import Params
from . import COMMANDS, Ctx, command

_NOT_FOUND = "Api Discovery plugin was unable to find an api by that name or process any apis"


def _api(name: str) -> dict[str, Any]:
    cmd = COMMANDS[name]
    return {"name": name, "description": f"{name} (simulated)", "isasync": cmd.is_async, "related": "",
            "params": [], "response": []}


@command("listApis")
def list_apis(ctx: Ctx, p: Params) -> dict[str, Any]:
    """ListApisCmd extends BaseCmd, not BaseListCmd: no paging, ``name`` is exact, and a name that is
    unknown *or denied to the role* answers 530 rather than an empty list (ApiDiscoveryServiceImpl)."""
    allowed = limits.allowed_commands(ctx.cfg, sorted(COMMANDS))
    name = p.str("name")
    if name is not None:
        if name not in allowed:
            raise ApiError(530, _NOT_FOUND, CS_SERVER_API)
        allowed = [name]
    return {"count": len(allowed), "api": [_api(n) for n in allowed]}
