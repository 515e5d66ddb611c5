"""Legacy BOSH registry client, for agents too old to read their settings from user-data.

When is it used (the director's CPI API v1 with stemcells below api_version 2): settings go inline in user-data
whenever the stemcell's agent can read them, i.e. when the director says the stemcell's
``api_version`` is 2 or more. The registry is used when

* the director says the stemcell's ``api_version`` is below 2 (its agent only reads the
  registry), whatever the request's API version: ``create_vm`` then fails with a clear
  CloudError if ``cpi.registry.endpoint`` is not configured; or
* the caller sent no stemcell version, the request is API v1 (an old director), and a
  registry is configured: the operator kept the registry for that old setup.

Protocol (bosh-cpi-ruby ``registry_client.rb``): ``PUT/GET/DELETE
{endpoint}/instances/{vm_cid}/settings`` with basic auth; GET answers ``{"settings": "<json>"}``;
DELETE of an absent entry (404) is fine. Errors name the endpoint without its credentials.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

from cpi_framework.errors import CloudError

if TYPE_CHECKING:
    from cpi_framework.context import CallContext

TIMEOUT = (10.0, 60.0)


def registry_configured(ctx: CallContext) -> bool:
    return bool(ctx.config.cpi.registry.endpoint)


def registry_mode(ctx: CallContext) -> bool:
    """Whether this call's VM keeps its settings in the registry (see the module docstring)."""
    stemcell = ctx.stemcell_api_version
    if stemcell is not None:
        return stemcell < 2
    return ctx.api_version < 2 and registry_configured(ctx)


def require_registry(ctx: CallContext) -> None:
    if not registry_configured(ctx):
        raise CloudError(
            f"Cannot create VM without registry with CPI API version {ctx.api_version} and stemcell api_version "
            f"{ctx.stemcell_api_version}: the stemcell's agent reads its settings from a BOSH registry, and "
            "cpi.registry.endpoint is not configured (configure it, or use a stemcell with api_version >= 2)"
        )


def safe_endpoint(endpoint: str) -> str:
    """The endpoint without user-info, for messages and logs."""
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def agent_endpoint(ctx: CallContext) -> str:
    """The endpoint agents use: credentials embedded, as the Java CloudStack CPI's user-data had them."""
    reg = ctx.config.cpi.registry
    endpoint = str(reg.endpoint)
    parts = urlsplit(endpoint)
    if parts.username or not reg.user:
        return endpoint
    auth = quote(reg.user, safe="") + ":" + quote(reg.password or "", safe="") + "@"
    return urlunsplit((parts.scheme, auth + parts.netloc, parts.path, parts.query, parts.fragment))


def _auth(ctx: CallContext) -> tuple[str, str] | None:
    reg = ctx.config.cpi.registry
    if reg.user:
        return (reg.user, reg.password or "")
    parts = urlsplit(str(reg.endpoint))
    if parts.username:
        from urllib.parse import unquote

        return (unquote(parts.username), unquote(parts.password or ""))
    return None


def _request(ctx: CallContext, method: str, vm_cid: str, body: str | None = None) -> Any:
    from cpi_framework.cloudstack.connection import Connection, HttpFailure, basic_auth

    endpoint = str(ctx.config.cpi.registry.endpoint)
    parts = urlsplit(endpoint)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    base = urlunsplit((parts.scheme, netloc, "", "", ""))
    target = f"{parts.path.rstrip('/')}/instances/{quote(vm_cid, safe='')}/settings"
    where = f"registry {safe_endpoint(endpoint)}: {method} /instances/{vm_cid}/settings"
    headers = {"Content-Type": "application/json"} if body else {}
    auth = _auth(ctx)
    if auth is not None:
        headers["Authorization"] = basic_auth(*auth)
    failure: str | None = None
    try:
        with Connection(base, connect_timeout=TIMEOUT[0], read_timeout=TIMEOUT[1]) as connection:
            response = connection.request(method, target, body=body.encode() if body else None, headers=headers)
    except HttpFailure as exc:
        failure = f"{where} failed: {type(exc).__name__}"
    if failure is not None:
        raise CloudError(failure)
    return where, response


def read_settings(ctx: CallContext, vm_cid: str) -> dict[str, Any] | None:
    where, response = _request(ctx, "GET", vm_cid)
    if response.status == 404:
        return None
    if response.status != 200:
        raise CloudError(f"{where} failed: HTTP {response.status}")
    try:
        return json.loads(json.loads(response.text)["settings"])
    except (ValueError, KeyError, TypeError):
        raise CloudError(f"{where}: the answer holds no settings document") from None


def write_settings(ctx: CallContext, vm_cid: str, settings: dict[str, Any]) -> None:
    where, response = _request(ctx, "PUT", vm_cid, json.dumps(settings))
    if response.status not in (200, 201, 204):
        raise CloudError(f"{where} failed: HTTP {response.status}")
    ctx.log.info("wrote agent settings of VM %s to the registry", vm_cid)


def delete_settings(ctx: CallContext, vm_cid: str) -> None:
    where, response = _request(ctx, "DELETE", vm_cid)
    if response.status not in (200, 202, 204, 404):
        raise CloudError(f"{where} failed: HTTP {response.status}")


def update_persistent_disk(ctx: CallContext, vm_cid: str, disk_cid: str, hint: Any | None) -> None:
    """Add (hint given) or remove (None) a persistent disk in the VM's registry settings."""
    settings = read_settings(ctx, vm_cid)
    if settings is None:
        raise CloudError(f"registry {safe_endpoint(str(ctx.config.cpi.registry.endpoint))} has no settings for "
                         f"VM '{vm_cid}'")
    disks = settings.setdefault("disks", {})
    persistent = disks.get("persistent") or {}
    if hint is None:
        persistent.pop(disk_cid, None)
    else:
        persistent[disk_cid] = hint
    disks["persistent"] = persistent
    write_settings(ctx, vm_cid, settings)
