"""Checks the VM contract suite and the VM integration tests share: answers, guest views, leak detection.

Kept apart from :mod:`cpi_framework.testing.contract` so a plugin's own tests can import them
without collecting the contract tests.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from .agent_resolvers import ResolveError, resolve_volume
from .oracle_checks import judge_disk, judge_settings
from .runner import DIRECTOR_UUID, HYPERVISOR_ZONES, CpiResponse

Cpi = Callable[..., CpiResponse]
Resolver = str | tuple[str, ...]
"""An ``agent_resolver`` value: one bosh-agent resolver type, or several that must all agree."""
STEMCELL_CONTEXT = {"director_uuid": DIRECTOR_UUID, "request_id": "cpi-424242", "vm": {"stemcell": {"api_version": 3}}}


def ok(response: CpiResponse) -> Any:
    """The result of a successful call; the error and log otherwise, as the assertion message."""
    assert response.returncode == 0, response.stderr[-2000:]
    assert response.error is None, f"{response.error}\n{response.log[-3000:]}"
    return response.result


def failed(response: CpiResponse, error_type: str) -> dict[str, Any]:
    assert response.returncode == 0, response.stderr[-2000:]
    assert response.result is None
    assert response.error is not None, "expected an error"
    assert response.error["type"] == error_type, response.error
    assert response.error["message"]
    return response.error


def zone_network(sim: Any, hypervisor: str, name: str = "bosh-net") -> dict[str, Any]:
    zone = HYPERVISOR_ZONES.get(hypervisor, hypervisor)
    for network in sim.inventory()["networks"]:
        if network.get("name") == name and network.get("zonename") == zone:
            return network
    pytest.skip(f"simulator zone {zone} has no network {name}")


def free_ip(network: dict[str, Any], offset: int = 50) -> str:
    import ipaddress

    return str(ipaddress.ip_network(network["cidr"], strict=False).network_address + offset)


def public_ip(sim: Any, hypervisor: str) -> str:
    zone = HYPERVISOR_ZONES.get(hypervisor, hypervisor)
    ips = [ip for ip in sim.inventory()["publicips"] if ip.get("zonename") == zone and not ip.get("issourcenat")]
    if not ips:
        pytest.skip(f"simulator zone {zone} has no public IP to use as a vip")
    return str(sorted(ips, key=lambda ip: ip["ipaddress"])[0]["ipaddress"])


def dynamic(name: str = "bosh-net", **extra: Any) -> dict[str, Any]:
    return {"type": "dynamic", "cloud_properties": {"name": name}, **extra}


def guest_settings(sim: Any, vm_cid: str) -> dict[str, Any]:
    """The agent settings the VM reads: virtual-router user-data or the ConfigDrive's user_data.

    Where the agent oracle runs, the real agent's settings source must read the same settings and
    configure each network on the NIC with its MAC (:func:`.oracle_checks.judge_settings`)."""
    view = sim.guest_view(vm_cid)
    data = view.get("user_data")
    if view.get("config_drive"):
        data = view["config_drive"].get("openstack/latest/user_data") or data
    assert data, f"VM {vm_cid} received no user-data"
    try:
        settings: dict[str, Any] = json.loads(data)
    except ValueError:
        settings = json.loads(base64.urlsafe_b64decode(data + b"=" * (-len(data) % 4)))
    judge_settings(sim, vm_cid, view, settings)
    return settings


def guest_disk(sim: Any, vm_cid: str, hint: Any, *, resolver: Resolver | Sequence[str],
               cid: str = "") -> dict[str, Any]:
    """The guest disk ``hint`` designates, found the way the bosh-agent would find it.

    ``resolver`` is the stemcell's ``DevicePathResolutionType`` (``identity``/``virtio``/``scsi``,
    or several that must all agree: the ``agent_resolver`` fixture); ``cid`` the disk CID for a
    persistent disk, ``""`` for the ephemeral one. Resolution is the independent agent model's
    (:mod:`.agent_resolvers`), so a hint right only by a rule the agent does not follow fails:
    under ``virtio`` the hint's ``id`` is never read, and a KVM hint must reach its disk by ``path``.
    Where the agent oracle runs, the real agent's resolvers must reach the same volume (or fail
    too): a disagreement fails with what the agent saw (:func:`.oracle_checks.judge_disk`).
    """
    return _find_disk(sim, vm_cid, hint, resolver, cid)[0]


def _find_disk(sim: Any, vm_cid: str, hint: Any, resolver: Resolver | Sequence[str],
               cid: str) -> tuple[dict[str, Any], str]:
    """The guest disk the model resolves ``hint`` to, and what the real agent said (``""`` without the oracle)."""
    view = sim.guest_view(vm_cid)
    names = (resolver,) if isinstance(resolver, str) else tuple(resolver)
    volume, error = None, None
    try:
        volume = resolve_volume(names, cid, hint, view)
    except ResolveError as err:
        error = str(err)
    agent = judge_disk(view, vm_cid, cid, hint, names, volume, error)
    if volume is None:
        raise AssertionError(f"the agent would not find disk {cid or '(ephemeral)'} of VM {vm_cid}: {error}; "
                             f"guest disks {view.get('disks')}{agent}")
    return next(d for d in view["disks"] if d["volume_id"] == volume), agent


def assert_hint_reaches(sim: Any, vm_cid: str, hint: Any, *, resolver: Resolver | Sequence[str],
                        cid: str) -> dict[str, Any]:
    """:func:`guest_disk` for a persistent disk, which must be the volume ``cid`` itself: a hint that
    reaches another disk would have the agent mount (or format) the wrong one."""
    disk, agent = _find_disk(sim, vm_cid, hint, resolver, cid)
    if disk["volume_id"] != cid:
        raise AssertionError(f"the hint {hint!r} of disk {cid} on VM {vm_cid} reaches volume {disk['volume_id']} "
                             f"({disk['path']}) instead: the agent would mount the wrong disk{agent}")
    return disk


def system_disk(sim: Any, vm_cid: str, path: str) -> dict[str, Any]:
    """The guest disk at ``disks.system``: the agent reads that path as is, through no resolver."""
    return guest_disk(sim, vm_cid, path, resolver="identity")


def cpi_objects(sim: Any) -> dict[str, set[str]]:
    """Ids of live VMs, data volumes, affinity groups and static NATs: what a CPI call may leave behind."""
    inv = sim.inventory()
    return {
        "vms": {v["id"] for v in inv["virtualmachines"] if v.get("state") not in ("Destroyed", "Expunging")},
        "volumes": {v["id"] for v in inv["volumes"] if v.get("type") == "DATADISK"},
        "affinitygroups": {g["id"] for g in inv["affinitygroups"]},
        "static_nat": {ip["id"] for ip in inv["publicips"] if ip.get("isstaticnat")},
    }


def assert_no_leaks(sim: Any, before: dict[str, set[str]]) -> None:
    after = cpi_objects(sim)
    assert after == before, f"left behind: { {k: after[k] - before[k] for k in after if after[k] != before[k]} }"


def light_stemcell(cpi: Cpi, hypervisor: str) -> str:
    """A light stemcell borrowing the simulator's ready template for the zone (no upload)."""
    props = {"name": f"bosh-cloudstack-{hypervisor}", "version": "1.0", "infrastructure": "cloudstack",
             "hypervisor": hypervisor, "architecture": "x86_64", "os_type": "linux",
             "light_template": f"bosh-stemcell-{hypervisor}"}
    return str(ok(cpi("create_stemcell", "/nonexistent/image", props, api_version=2)))


def vm_view(sim: Any, vm_cid: str) -> dict[str, Any]:
    """The VM as the simulator's inventory holds it (NICs, tags, display name)."""
    return next(v for v in sim.inventory()["virtualmachines"] if v["id"] == vm_cid)


def tags_of(resource: dict[str, Any]) -> dict[str, str]:
    return {t["key"]: t["value"] for t in resource.get("tags", [])}


def create(cpi: Cpi, stemcell: str, networks: dict[str, Any] | None = None, props: dict[str, Any] | None = None,
           disk_cids: list[str] | None = None, env: dict[str, Any] | None = None, agent_id: str = "agent-007",
           api_version: int = 2) -> str:
    result = ok(cpi("create_vm", agent_id, stemcell, props or {"compute_offering": "small", "disk": 1024},
                    networks or {"default": dynamic()}, disk_cids, env, api_version=api_version,
                    context=STEMCELL_CONTEXT))
    if api_version >= 2:
        assert isinstance(result, list) and len(result) == 2 and isinstance(result[1], dict), result
        return str(result[0])
    assert isinstance(result, str), result
    return result
