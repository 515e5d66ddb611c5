"""info and ping: answered from the active plugin alone, never from the network."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cpi_framework.context import CallContext

API_VERSION = 3


def info(ctx: CallContext) -> dict[str, Any]:
    """The CPI's API version and the stemcell formats the active plugin accepts."""
    return {"api_version": API_VERSION, "stemcell_formats": list(ctx.plugins.stemcell_formats)}


def ping(ctx: CallContext) -> str:
    """Liveness answer of the v1 contract."""
    return "pong"
