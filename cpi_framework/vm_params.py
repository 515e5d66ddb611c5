"""What ``create_vm`` asks ``deployVirtualMachine`` for, checked before anything exists.

Split from :mod:`cpi_framework.vm_builder` so the build keeps its flow and failure ledger while
the parameter rules (ephemeral disk offering, customised offerings, root disk size) and the
user-data size pre-check live here; none of these create anything, so none need the ledger.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

from cpi_framework import agent_settings
from cpi_framework import networks as net
from cpi_framework.errors import CpiError
from cpi_framework.services import catalog

if TYPE_CHECKING:
    from cpi_framework.context import CallContext


def ephemeral_offering(ctx: CallContext, vm_type: dict[str, Any]) -> str | None:
    """The disk offering for the ephemeral disk, or None when ``disk`` asks for none."""
    if not vm_type.get("disk"):
        return None
    cpi = ctx.config.cpi
    offering = vm_type.get("ephemeral_disk_offering") or cpi.default_ephemeral_disk_offering
    offering = offering or cpi.default_disk_offering
    if not offering:
        raise CpiError(
            f"Invalid VM cloud_properties: disk = {vm_type['disk']} asks for an ephemeral disk but neither "
            "cloud_properties.ephemeral_disk_offering nor cpi.default_ephemeral_disk_offering is set"
        )
    return offering


def deploy_params(ctx: CallContext, hostname: str, zone_id: str, offering: dict[str, Any],
                  template: dict[str, Any], vm_type: dict[str, Any], nics: list[net.Nic]) -> dict[str, Any]:
    """``deployVirtualMachine``'s parameters for a stopped VM named ``hostname``."""
    details: dict[str, Any] = {}
    if offering.get("iscustomized"):
        if not vm_type.get("cpu") or not vm_type.get("ram"):
            raise CpiError(
                f"Invalid VM cloud_properties: compute_offering = '{vm_type['compute_offering']}' is a "
                f"customised offering and needs cpu and ram (got cpu = {vm_type.get('cpu')}, ram = "
                f"{vm_type.get('ram')})"
            )
        details = {"cpuNumber": str(vm_type["cpu"]), "memory": str(vm_type["ram"])}
        speed = _custom_cpu_speed(vm_type, offering)
        if speed is not None:
            details["cpuSpeed"] = speed
    elif vm_type.get("cpu") or vm_type.get("ram"):
        ctx.log.warning("compute offering '%s' is not customised: cloud_properties cpu/ram are ignored",
                        offering.get("name"))
    params: dict[str, Any] = {
        "zoneid": zone_id,
        "serviceofferingid": offering["id"],
        "templateid": template["id"],
        "name": hostname,
        "iptonetworklist": net.ip_to_network_list(nics),
        "keypair": ctx.config.cloudstack.default_key_name,
        "startvm": False,
        "details": details,
    }
    if vm_type.get("root_disk_size"):
        params["rootdisksize"] = math.ceil(vm_type["root_disk_size"] / 1024)
    return params


def ephemeral_params(ctx: CallContext, offering_name: str, size_mb: int) -> dict[str, Any]:
    """Deploy's ``diskofferingid`` (+ ``size`` in GB for a custom offering) for the ephemeral disk.

    A fixed-size offering too small for ``disk`` fails here, before anything exists; the
    server ignores ``size`` for a fixed offering (``CloudOrchestrator.createVirtualMachine``
    uses the offering's size), so none is sent.
    """
    from cpi_framework.services import volumes

    volumes.check_size_mb(size_mb)
    offering = catalog.disk_offering(ctx, offering_name)
    return {"diskofferingid": offering["id"], **volumes.size_params(offering, size_mb)}


def check_settings_size(ctx: CallContext, hostname: str, agent_id: str, vm_type: dict[str, Any],
                        nets: dict[str, dict[str, Any]], nics: list[net.Nic], env: dict[str, Any] | None,
                        ephemeral_offering: str | None, use_registry: bool) -> None:
    """Refuse settings above the cloud's user-data limit before anything exists.

    The settings are built for a stand-in VM whose ids, MACs and addresses are as long as real
    ones, so the size matches what ``updateVirtualMachine`` will carry. Should a plugin hook
    need the real VM for that, the check is left to the one after the deploy (which cleans up).
    """
    stand_in = "ffffffff-ffff-ffff-ffff-ffffffffffff"
    vm = {"id": stand_in, "name": hostname, "displayname": hostname, "zoneid": stand_in,
          "nic": [{"networkid": str(n.network["id"]), "ipaddress": n.ip or "255.255.255.255",
                   "netmask": "255.255.255.255", "gateway": "255.255.255.255",
                   "macaddress": "ff:ff:ff:ff:ff:ff"} for n in nics]}
    disk = {"id": stand_in, "name": "ROOT-9999999", "type": "ROOT", "deviceid": 0}
    mute = _Mute()
    ctx.log.addFilter(mute)  # the real build logs its warnings; this one stays silent
    try:
        ephemeral_hint = None
        if ephemeral_offering:
            ephemeral_hint = ctx.plugins.disk_hint({**disk, "type": "DATADISK", "deviceid": 1}, vm, "ephemeral")
        settings = agent_settings.build_settings(
            ctx, agent_id=agent_id, vm=vm, system_hint=ctx.plugins.disk_hint(disk, vm, "system"),
            ephemeral_hint=ephemeral_hint, env=env,
            networks=net.settings_networks(ctx, vm, nics, nets, vm_type.get("routes") or {}),
        )
        document = agent_settings.add_registry_pointer(ctx, settings, vm) if use_registry else settings
        user_data = ctx.plugins.user_data(document, {**vm, "networks": [n.network for n in nics]})
    except Exception as exc:  # noqa: BLE001 - a hook that needs the real VM: checked after the deploy
        ctx.log.removeFilter(mute)
        ctx.log.debug("user-data size not checked before the deploy: %s", exc)
        return
    ctx.log.removeFilter(mute)
    agent_settings.encode_user_data(user_data, ctx.config.cloudstack.user_data_max_length)


class _Mute(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


def _custom_cpu_speed(vm_type: dict[str, Any], offering: dict[str, Any]) -> str | None:
    """The ``cpuSpeed`` detail for a customised offering, or None when it must not be sent.

    ``UserVmManagerImpl.validateCustomParameters`` requires ``cpuSpeed`` when the offering has no
    speed, and refuses it ("The cpu speed of this offering id:… is not customizable") when the
    offering fixes one, as "custom constrained" offerings do (listed ``iscustomized`` with a
    ``cpuspeed``).
    """
    wanted = vm_type.get("cpu_speed")
    fixed = offering.get("cpuspeed")
    if not fixed:
        return str(wanted or 2000)
    if wanted and int(wanted) != int(fixed):
        raise CpiError(
            f"Invalid VM cloud_properties: cpu_speed = {wanted} but compute_offering = "
            f"'{vm_type['compute_offering']}' fixes the CPU speed at {fixed} MHz; remove cpu_speed or use an "
            "offering whose CPU speed is customisable"
        )
    return None
