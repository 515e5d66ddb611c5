"""Reads third-party clients make that the CPI itself does not (Apache Libcloud's ``list_nodes``).

The simulator has no port-forwarding or IP-forwarding rules (the CPI uses static NAT, which
creates neither), so both lists are always empty - the server's ``{}`` for an empty list. They
exist so a client that asks for them gets a CloudStack answer, not the 401 a current server gives
an unknown command. ``listNetworkOfferings`` lists the configured network offerings.
"""

from __future__ import annotations

from typing import Any

from .. import views
from ..params import Params
from . import Ctx, command


def _filtered_empty(ctx: Ctx, p: Params) -> dict[str, Any]:
    for name, kind in (("ipaddressid", "publicip"), ("virtualmachineid", "vm"), ("id", None)):
        if kind is not None:
            ctx.id_filter(p, name, kind)  # unknown ids: 431 like any list
    return ctx.listing(p, [], "rule")


@command("listPortForwardingRules")
def list_port_forwarding_rules(ctx: Ctx, p: Params) -> dict[str, Any]:
    """ListPortForwardingRulesCmd (BaseListTaggedResourcesCmd): object name ``portforwardingrule``."""
    return _filtered_empty(ctx, p)


@command("listIpForwardingRules")
def list_ip_forwarding_rules(ctx: Ctx, p: Params) -> dict[str, Any]:
    """ListIpForwardingRulesCmd: object name ``ipforwardingrule``; static NAT alone makes no such rule."""
    return _filtered_empty(ctx, p)


@command("listNetworkOfferings")
def list_network_offerings(ctx: Ctx, p: Params) -> dict[str, Any]:
    """ListNetworkOfferingsCmd: object name ``networkoffering``; ``id``, ``name`` (exact), ``state``."""
    found, off = ctx.id_filter(p, "id", "networkoffering")
    offerings = [off] if found else ctx.st.live("networkoffering")
    items = [views.network_offering_view(ctx.st, o) for o in offerings if o is not None]
    state = p.str("state")
    if state:
        items = [i for i in items if i["state"].lower() == state.lower()]
    return ctx.listing(p, items, "networkoffering")
