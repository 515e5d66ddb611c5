"""Templates (stemcells): registration by URL, direct upload parameters, listing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from .. import limits, views
from .. import models as m
from ..errors import param_error
from ..params import Params
from ..state import State, now_str
from . import Ctx, command

UPLOAD_FORMATS = ("QCOW2", "OVA", "VHD")  # AbstractGetUploadParamsCmd allowedValues
IMAGE_FORMATS = ("QCOW2", "RAW", "VHD", "ISO", "OVA", "VHDX", "BAREMETAL", "VMDK", "VDI", "TAR", "DIR")
COMPRESSED = ("", ".bz2", ".gz", ".zip")
FILTERS = ("featured", "self", "selfexecutable", "sharedexecutable", "executable", "community", "all")


def suffix_ok(fmt: str, name: str) -> bool:
    """``<name>.<format>[.bz2|.gz|.zip]``, as the server checks URLs and the SSVM file names."""
    low = name.lower()
    return any(low.endswith("." + fmt.lower() + c) for c in COMPRESSED)


def upload_signature(key: bytes, metadata: str, url: str, expires: str) -> str:
    """The SSVM's check: HMAC-SHA1 over ``metadata + url + expires`` with a pre-shared key."""
    return base64.b64encode(hmac.new(key, (metadata + url + expires).encode(), hashlib.sha1).digest()).decode()


def mark_installed(st: State, tpl: m.Template, size: int, ready_delay: float) -> None:
    """Bytes received: "Installing Template", then "Download Complete" after ``ready_delay``."""
    tpl.physicalsize = size
    tpl.size = tpl.size or size
    tpl.download_state, tpl.download_percent, tpl.status = "DOWNLOADED", 100, "Installing Template"
    tpl.upload["ready_at"] = time.monotonic() + max(0.0, ready_delay)
    advance_templates(st)


def mark_error(tpl: m.Template, status: str, state: str = "DOWNLOAD_ERROR") -> None:
    tpl.isready, tpl.status, tpl.download_state = False, status, state
    tpl.upload.pop("ready_at", None)


def advance_templates(st: State) -> None:
    now = time.monotonic()
    for tpl in st.live("template"):
        ready_at = tpl.upload.get("ready_at")
        if ready_at is not None and ready_at <= now:
            tpl.upload.pop("ready_at")
            tpl.isready, tpl.status, tpl.state = True, "Download Complete", "Active"


def _common_template_params(ctx: Ctx, p: Params, formats: tuple[str, ...]) -> dict[str, Any]:
    name = p.req("name")
    fmt = p.req("format").upper()
    if fmt not in formats:
        raise param_error(f"Image format: {p.req('format')} is incorrect. Supported formats are {list(formats)}")
    hypervisor = p.req("hypervisor")
    zones = [z for z in ctx.st.live("zone") if z.hypervisor.lower() == hypervisor.lower()]
    if not zones:
        raise param_error(f"Hypervisor Type: {hypervisor} is invalid. Supported Hypervisor types are "
                          f"{sorted({z.hypervisor for z in ctx.st.live('zone')})}")
    ostype = ctx.entity(p, "ostypeid", "ostype", required=True)
    return {"name": name, "displaytext": p.str("displaytext") or name, "format": fmt,
            "hypervisor": zones[0].hypervisor, "ostype_id": ostype.id,
            "requireshvm": p.bool("requireshvm", True),  # defaults to true server-side
            "bits": p.int("bits", 64), "ispublic": p.bool("ispublic"), "isfeatured": p.bool("isfeatured"),
            "isextractable": p.bool("isextractable"), "passwordenabled": p.bool("passwordenabled"),
            "sshkeyenabled": p.bool("sshkeyenabled"), "isdynamicallyscalable": p.bool("isdynamicallyscalable"),
            "checksum": p.str("checksum"), "details": p.details()}


@command("getUploadParamsForTemplate", response_name="postuploadtemplateresponse")
def get_upload_params(ctx: Ctx, p: Params) -> dict[str, Any]:
    fields = _common_template_params(ctx, p, UPLOAD_FORMATS)
    zone = ctx.entity(p, "zoneid", "zone", required=True)
    if zone.hypervisor != fields["hypervisor"]:
        raise param_error(f"Hypervisor {fields['hypervisor']} is not available in zone {zone.name}")
    # GetUploadParamsForTemplateCmd catches the ResourceAllocationException and rethrows a 530.
    limits.check(ctx.st, "template", wrap="exception while registering template: ", errorcode=530)
    tpl = ctx.st.add("template", m.Template(str(uuid.uuid4()), zone_id=zone.id, created=now_str(),
                                            state="NotUploaded", download_state="NOT_UPLOADED", owned=True,
                                            **fields))
    validity = int(ctx.cfg["templates"]["upload_validity"])
    expires = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + validity))
    # TemplateManagerImpl.registerPostUploadInternal: ImageStoreUtil.generatePostUploadUrl on the SSVM's
    # public IP (a-b-c-d.<domain> with secstorage.ssl.cert.domain); the simulator adds its listener's port
    post_url = f"{ctx.upload_base or ctx.base_url}/upload/{tpl.id}"
    metadata = base64.b64encode(json.dumps({"id": tpl.id, "nonce": secrets.token_hex(16)}).encode()).decode()
    signature = upload_signature(ctx.st.upload_key, metadata, post_url, expires)
    tpl.upload.update(post_url=post_url, metadata=metadata, expires=expires, expires_at=time.time() + validity)
    return {"getuploadparams": {"id": tpl.id, "postURL": post_url, "metadata": metadata, "expires": expires,
                                "signature": signature}}


@command("registerTemplate")
def register_template(ctx: Ctx, p: Params) -> dict[str, Any]:
    fields = _common_template_params(ctx, p, IMAGE_FORMATS)
    url = p.req("url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise param_error(f"Unsupported scheme for url: {url}")
    if not suffix_ok(fields["format"], parts.path):
        raise param_error(f"Please specify a valid {fields['format'].lower()}")
    allowed = ctx.cfg["templates"]["allow_download_hosts"]
    if parts.hostname not in allowed:
        raise param_error(f"Unable to resolve {parts.hostname}: the simulator only downloads from {allowed}")
    zone_ids = p.list("zoneids") or ([p.req("zoneid")] if p.str("zoneid") else [])
    if not zone_ids:
        raise param_error("Unable to execute API command registertemplate due to missing parameter zoneid")
    zones = []
    for zid in zone_ids:
        if zid == "-1":
            zones.extend(z for z in ctx.st.live("zone") if z.hypervisor == fields["hypervisor"])
            continue
        zone = ctx.st.get("zone", zid)
        if zone is None:
            from ..errors import invalid_uuid
            raise invalid_uuid("zoneid", zid)
        zones.append(zone)
    limits.check(ctx.st, "template")  # RegisterTemplateCmd lets the ResourceAllocationException through: 535
    # The server keeps one template row per zone under one id; the simulator stores a
    # template per id, so a multi-zone registration lands in the first zone only.
    tpl = ctx.st.add("template", m.Template(str(uuid.uuid4()), zone_id=zones[0].id, created=now_str(), url=url,
                                            owned=True, **fields))
    templates = [tpl]
    from ..download import start_download  # late import: download imports this module

    start_download(ctx, tpl, url)
    return {"count": len(templates), "template": [views.template_view(ctx.st, t) for t in templates]}


def _template(ctx: Ctx, p: Params) -> m.Template:
    return ctx.entity(p, "id", "template", required=True,
                      not_found=f"unable to find template with id {p.str('id')}")


@command("deleteTemplate", is_async=True)
def delete_template(ctx: Ctx, p: Params) -> dict[str, Any]:
    tpl = _template(ctx, p)
    forced = p.bool("forced")

    def run() -> dict[str, Any]:
        users = [vm.name for vm in ctx.st.live("vm") if vm.template_id == tpl.id]
        if users and not forced:
            raise param_error(f"Unable to delete template with id: {tpl.id} because VM instances: "
                              f"[{','.join(users)}] are using it.")
        tpl.removed, tpl.isready, tpl.state = True, False, "Inactive"
        ctx.st.tags = [t for t in ctx.st.tags if t.resource_id != tpl.id]
        return {"success": True}

    return {"jobid": ctx.submit(run, None, "Template", tpl.id).id}


@command("updateTemplate")
def update_template(ctx: Ctx, p: Params) -> dict[str, Any]:
    tpl = _template(ctx, p)
    for attr in ("name", "displaytext"):
        if p.str(attr):
            setattr(tpl, attr, p.req(attr))
    if p.str("ostypeid"):
        tpl.ostype_id = ctx.entity(p, "ostypeid", "ostype").id
    for flag in ("requireshvm", "passwordenabled", "sshkeyenabled", "isdynamicallyscalable"):
        if p.str(flag) is not None:
            setattr(tpl, flag, p.bool(flag))
    tpl.details.update(p.details())
    return {"template": views.template_view(ctx.st, tpl)}


@command("listTemplates")
def list_templates(ctx: Ctx, p: Params) -> dict[str, Any]:
    flt = p.req("templatefilter")
    if flt not in FILTERS:
        raise param_error(f"Invalid template filter {flt}; valid values are {', '.join(FILTERS)}")
    tpls = [t for t in ctx.st.store["template"].values() if not t.removed or p.bool("showremoved")]
    given, obj = ctx.id_filter(p, "id", "template")
    if given:
        tpls = [t for t in tpls if obj is not None and t.id == obj.id]
    ids = p.list("ids")
    if ids:
        tpls = [t for t in tpls if t.id in ids]
    g, zone = ctx.id_filter(p, "zoneid", "zone")
    if g:
        tpls = [t for t in tpls if zone is not None and t.zone_id == zone.id]
    hv = p.str("hypervisor")
    if hv:
        tpls = [t for t in tpls if t.hypervisor.lower() == hv.lower()]
    # All simulated templates belong to the caller's account.
    if flt in ("featured",):
        tpls = [t for t in tpls if t.isfeatured and t.isready]
    elif flt == "community":
        tpls = [t for t in tpls if t.ispublic and not t.isfeatured and t.isready]
    elif flt in ("selfexecutable", "executable", "sharedexecutable"):
        tpls = [t for t in tpls if t.isready]
    if p.str("isready") is not None:
        want = p.bool("isready")
        tpls = [t for t in tpls if t.isready == want]
    return ctx.listing(p, [views.template_view(ctx.st, t) for t in tpls], "template")

