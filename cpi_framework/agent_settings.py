"""The agent settings document and its encoding into CloudStack user-data.

The core builds what every hypervisor shares; the active plugin adjusts it
(``cpi_agent_settings``) and encodes it for the stemcell's settings source (``cpi_user_data``).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from cpi_framework.errors import CpiError

if TYPE_CHECKING:
    from cpi_framework.context import CallContext
    from cpi_framework.types import DiskHint, UserData

SERVER_USER_DATA_SETTING = "vm.userdata.max.length"  # UserDataManagerImpl.validateUserData's limit (POST)


def build_settings(
    ctx: CallContext,
    *,
    agent_id: str,
    vm: dict[str, Any],
    networks: dict[str, dict[str, Any]],
    system_hint: str,
    ephemeral_hint: DiskHint | None,
    env: dict[str, Any] | None,
) -> dict[str, Any]:
    """Settings for a new VM: ``disks.system`` a string (the agent's Go type), ``env`` verbatim
    (``{}`` when the caller sent null), ``mbus``/``ntp``/``blobstore`` from the job config.

    ``vm.name`` is the VM's CID, what ``bosh vms`` shows; ``disks.persistent`` starts empty
    (API v2 agents keep their own disk hints).
    """
    cpi = ctx.config.cpi
    settings: dict[str, Any] = {
        "agent_id": agent_id,
        "vm": {"name": str(vm["id"])},
        "networks": networks,
        "disks": {"system": system_hint, "persistent": {}},
        "env": env if env is not None else {},
    }
    if ephemeral_hint is not None:
        settings["disks"]["ephemeral"] = ephemeral_hint
    if cpi.agent.mbus:
        settings["mbus"] = cpi.agent.mbus
    if cpi.ntp:
        settings["ntp"] = list(cpi.ntp)
    blobstore = cpi.blobstore.settings()
    if blobstore is not None:
        settings["blobstore"] = blobstore
    _warn_missing(ctx, settings)
    return ctx.plugins.agent_settings(settings, vm, hook_context(ctx))


def _warn_missing(ctx: CallContext, settings: dict[str, Any]) -> None:
    """Say so when neither the config nor the VM's env gives the agent an mbus or a blobstore.

    The bosh-agent takes ``env.bosh.mbus.urls`` and ``env.bosh.blobstores`` over the settings' own
    keys (``Settings.GetMbusURL``/``GetBlobstore``, bosh-agent settings/settings.go), so either
    source is enough; with neither the agent never reports to the director.
    """
    bosh = settings["env"].get("bosh") if isinstance(settings["env"], dict) else None
    bosh = bosh if isinstance(bosh, dict) else {}
    mbus = bosh.get("mbus") if isinstance(bosh.get("mbus"), dict) else {}
    if "mbus" not in settings and not mbus.get("urls"):
        ctx.log.warning("agent settings carry no mbus: set cpi.agent.mbus, or pass env.bosh.mbus.urls")
    if "blobstore" not in settings and not bosh.get("blobstores"):
        ctx.log.warning("agent settings carry no blobstore: set cpi.blobstore, or pass env.bosh.blobstores")


def hook_context(ctx: CallContext) -> dict[str, Any]:
    return {
        "api_version": ctx.api_version,
        "stemcell_api_version": ctx.stemcell_api_version,
        "director_uuid": ctx.director_uuid,
        "request_id": ctx.request_id,
    }


def add_registry_pointer(ctx: CallContext, document: dict[str, Any], vm: dict[str, Any]) -> dict[str, Any]:
    """The legacy user-data keys an old agent follows to the registry, beside the inline settings.

    ``server.name`` is the registry key (the VM CID), ``dns.nameserver`` every DNS server of the
    default network (the Java CloudStack CPI sent only the first).
    """
    from cpi_framework.services.registry import agent_endpoint

    nameservers: list[str] = []
    for network in document.get("networks", {}).values():
        if "dns" in (network.get("default") or []) and network.get("dns"):
            nameservers = list(network["dns"])
            break
    pointer = dict(document)
    pointer["server"] = {"name": str(vm["id"])}
    pointer["registry"] = {"endpoint": agent_endpoint(ctx)}
    if nameservers:
        pointer["dns"] = {"nameserver": nameservers}
    return pointer


def encode_user_data(user_data: UserData, limit: int) -> str:
    """base64 for ``updateVirtualMachine userdata``; above the cloud's limit is a clear error, not a 431.

    The limit is the server's global setting ``vm.userdata.max.length`` (32768 base64 characters by
    default, ``UserDataManagerImpl.validateUserData``; not readable by non-admin accounts), which the
    CPI knows as ``cloudstack.user_data_max_length``.
    """
    encoded = base64.b64encode(user_data.data).decode("ascii")
    if len(encoded) > limit:
        raise CpiError(
            f"the agent settings are {len(encoded)} base64 characters, above the cloud's user-data limit of {limit} "
            f"(CloudStack global setting {SERVER_USER_DATA_SETTING}, known to the CPI as "
            "cloudstack.user_data_max_length); shrink env (e.g. fewer trusted certificates), or raise the setting "
            "on the cloud and cloudstack.user_data_max_length with it"
        )
    return encoded
