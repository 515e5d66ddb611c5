"""Helpers shared by the VM integration tests: a direct API client for the simulator and a full-featured create_vm."""

from __future__ import annotations

from typing import Any

from cpi_framework.cloudstack import ClientSettings, CloudStackClient
from cpi_framework.testing.checks import STEMCELL_CONTEXT, dynamic

FULL_PROPS = {"compute_offering": "small", "disk": 1024, "lbs": ["web-lb"]}


def api(sim: Any) -> CloudStackClient:
    """A client playing the operator (or an earlier CPI): sets up what the CPI expects to find."""
    return CloudStackClient(ClientSettings(endpoint=sim.endpoint, api_key=sim.api_key, secret_key=sim.secret_key,
                                           job_timeout=30))


def template_id(sim: Any, zone: str = "zone-xen") -> str:
    return next(t["id"] for t in sim.inventory()["templates"] if t.get("zonename") == zone and t["isready"])


def make_lb_rule(sim: Any, name: str = "web-lb", vip_index: int = 2) -> dict[str, Any]:
    client = api(sim)
    ips = sorted((ip for ip in sim.inventory()["publicips"] if ip.get("zonename") == "zone-xen"),
                 key=lambda ip: ip["ipaddress"])
    result = client.call_async("createLoadBalancerRule", {"publicipid": ips[vip_index]["id"], "name": name,
                                                          "publicport": 80, "privateport": 8080,
                                                          "algorithm": "roundrobin"})
    return result.get("loadbalancer", result)


def full_networks(sim: Any) -> dict[str, Any]:
    vip = sorted(ip["ipaddress"] for ip in sim.inventory()["publicips"] if ip.get("zonename") == "zone-xen")[0]
    return {"default": dynamic(default=["dns", "gateway"]), "public": {"type": "vip", "ip": vip}}


def create_args(stemcell: str, sim: Any, props: dict[str, Any] | None = None) -> tuple[Any, ...]:
    return ("agent-full", stemcell, props or FULL_PROPS, full_networks(sim), None,
            {"bosh": {"group": "dir-dep-web", "tags": {"team": "cpi"}}})


__all__ = ["STEMCELL_CONTEXT", "FULL_PROPS", "api", "template_id", "make_lb_rule", "full_networks", "create_args"]
