"""``cloudstack-cpi check --probe-upload``: test the upload host (the SSVM) of each stemcell zone.

Only ``getUploadParamsForTemplate`` reveals the ``postURL`` a stemcell upload goes to (its host
is the SSVM's public IP or ``a-b-c-d.<secstorage.ssl.cert.domain>``, read by the management
server), and it creates a template record. So the probe is opt-in: per zone it asks for upload
parameters under a recognisable name (``bosh-cpi-check-<hex>``), opens the postURL's host with the
upload's own TLS settings (:func:`cpi_framework.services.upload_host.probe`: ``GET /``, never the
one-time ``/upload/`` URL), and deletes the record again, whatever happened.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cpi_framework.config import Config
    from cpi_framework.context import CallContext

NAME_PREFIX = "bosh-cpi-check-"


@dataclass
class Line:
    check: str
    status: str
    message: str
    fix: str = ""


def probe_upload_hosts(ctx: CallContext, config: Config) -> list[Line]:
    """One line per stemcell zone (default zone first): the upload host's reachability and TLS."""
    from cpi_framework.cloudstack import CloudStackError
    from cpi_framework.errors import CloudError
    from cpi_framework.services import catalog

    lines: list[Line] = []
    try:
        params = ctx.plugins.template_params({}, config)
        os_type = catalog.os_type(ctx, params.os_type)["id"]
        zones: dict[str, dict[str, Any]] = {}
        for wanted in (None, *config.cloudstack.stemcell_zones):
            zone = catalog.zone(ctx, wanted)
            zones.setdefault(zone["id"], zone)
    except (CloudError, CloudStackError) as exc:
        return [Line("upload host", "skip", f"not probed: {exc}")]
    for zone in zones.values():
        lines.append(_probe_zone(ctx, config, zone, params.format, os_type))
    return lines


def _probe_zone(ctx: CallContext, config: Config, zone: dict[str, Any], fmt: str, os_type: str) -> Line:
    from cpi_framework.cloudstack import CloudStackError
    from cpi_framework.services.upload_host import probe, upload_verify

    label = f"upload host ({zone['name']})"
    name = f"{NAME_PREFIX}{uuid.uuid4().hex[:8]}"
    try:
        answer = ctx.client.call("getUploadParamsForTemplate", {
            "name": name, "displaytext": "cloudstack-cpi check --probe-upload (deleted at once)", "format": fmt,
            "hypervisor": ctx.plugins.cloudstack_type, "ostypeid": os_type, "zoneid": zone["id"],
            "requireshvm": True, "isextractable": True})
    except CloudStackError as exc:
        return Line(label, "fail", f"getUploadParamsForTemplate failed: {exc}",
                    "see the 'template upload' line; the account must be allowed to upload templates")
    upload = answer.get("getuploadparams", answer)
    ctx.add_secrets(upload.get("signature"), upload.get("metadata"))
    url = str(upload.get("postURL") or "")
    cs = config.cloudstack
    try:
        status, message, fix = probe(url, cs, upload_verify(ctx), proxies=cs.proxies,
                                     timeout=max(cs.connect_timeout, 1.0))
    finally:
        left = _delete(ctx, upload, name)
    if left:
        return Line(label, "fail" if status == "fail" else "warn", f"{message}; {left}",
                    fix or "delete that template (CloudStack UI: Images → Templates)")
    return Line(label, status, message, fix)


def _delete(ctx: CallContext, upload: dict[str, Any], name: str) -> str:
    """Delete the probe's template record; what was left behind, or ``""``."""
    from cpi_framework.errors import CloudError
    from cpi_framework.services.templates import delete_templates

    if not upload.get("id"):
        return ""
    try:
        delete_templates(ctx, [{"id": str(upload["id"])}])
    except CloudError as exc:
        return f"the probe's template {name} ({upload['id']}) was left behind: {exc}"
    return ""
