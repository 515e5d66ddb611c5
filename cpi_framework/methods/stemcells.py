"""create_stemcell / delete_stemcell: stemcell images become CloudStack templates.

* **auto** (default): direct upload, or url registration on a cloud whose version has no
  ``getUploadParamsForTemplate`` (CloudStack before 4.6; :mod:`cpi_framework.services.versions`),
  serving the image on ``cpi.stemcell_serve_address`` or, unset, this host's address towards the API.
* **direct** upload: ``getUploadParamsForTemplate`` per zone, then a streamed
  multipart POST of the image (:mod:`cpi_framework.services.upload`).
* **url**: ``registerTemplate`` with a URL CloudStack downloads from — under
  ``cloudstack.stemcell_url_base`` (the operator serves ``<name>-<version><suffix>``) or from a
  short-lived server the CPI runs on ``cpi.stemcell_serve_address`` (:mod:`.services.serve`).
* images **inside an archive**: when the plugin names ``TemplateParams.image_member`` (kvm:
  OpenStack's ``root.img``), that member is streamed out of the ``image`` tarball for either
  mode (:func:`cpi_framework.services.upload.image_source`), checked before anything is made.
* **light** stemcells (cloud_properties ``light_template``, ``template_id`` or
  ``template_name``) borrow an existing template: CID ``"<template id> light"``; nothing is
  uploaded and ``delete_stemcell`` leaves the template alone.

With ``cloudstack.stemcell_zones`` the image is registered once per zone (the default zone
first); the CID is the default zone's template id and every copy is tagged
``bosh-stemcell-cid=<cid>`` so lookups and deletes find them all (:mod:`.services.templates`).
Any failure deletes the templates this call created. The upload or url registration itself
is :mod:`cpi_framework.services.stemcell_registration`.
"""

from __future__ import annotations

import os
import re
import uuid
from typing import TYPE_CHECKING, Any

from cpi_framework.errors import CloudError, CpiError
from cpi_framework.services import catalog
from cpi_framework.services.catalog import is_uuid
from cpi_framework.services.stemcell_registration import (
    NoDirectUpload,
    Registration,
    register_by_url,
    register_direct,
    upload_mode,
)
from cpi_framework.services.tags import cpi_tags, stringify_metadata
from cpi_framework.services.templates import (
    delete_templates,
    find_template,
    light_cid,
    parse_cid,
    templates_tagged,
)

if TYPE_CHECKING:
    from cpi_framework.context import CallContext
    from cpi_framework.services.upload import ImageSource
    from cpi_framework.types import TemplateParams

LIGHT_KEYS = ("light_template", "template_id", "template_name")
STEMCELL_TAG = "bosh-stemcell"
ARCHITECTURES = frozenset({"x86_64"})
MAX_NAME = 120
HYPERVISOR_ALIASES = {
    "esxi": "VMware", "vsphere": "VMware",
    "xenserver": "XenServer", "xcp-ng": "XenServer",
    "qemu": "KVM", "libvirt": "KVM",
}
"""Stemcell ``hypervisor`` values that name a CloudStack hypervisor type under another name
(vSphere stemcells say ``esxi``); matched case-insensitively, beside the chain's plugin names
and the CloudStack type itself."""


def create_stemcell(ctx: CallContext, image_path: str, cloud_properties: dict, env: dict | None = None) -> str:
    """Register the stemcell image as a template (or resolve a light reference); return the CID.

    ``env`` is API v3's third argument, ``{"tags": {...}}``: the tags go onto the template
    beside the CPI's ownership tags. Requests below v3 never carry it (the director drops it).
    """
    props = cloud_properties or {}
    check_stemcell(ctx, props)
    reference = light_reference(props)
    if reference is not None:
        return _create_light(ctx, reference)
    params = ctx.plugins.template_params(props, ctx.config)
    check_disk_format(ctx, props, params)
    _check_image(image_path)
    source = _image_source(ctx, image_path, params)
    name, version = stemcell_name(props), stemcell_version(props)
    template_name = make_template_name(name, version)
    tags = {**_v3_tags(ctx, env), **cpi_tags(ctx, "stemcell"), STEMCELL_TAG: f"{name}/{version}"}
    base = {
        "name": template_name,
        "displaytext": f"BOSH stemcell {name} version {version}",
        "format": params.format,
        "hypervisor": ctx.plugins.cloudstack_type,
        "ostypeid": catalog.os_type(ctx, params.os_type)["id"],
        "requireshvm": bool(params.requires_hvm),
        "bits": params.bits,
        "isextractable": True,
        "ispublic": ctx.config.cloudstack.stemcell_public_visibility,
        "details": dict(params.details) or None,
    }
    zones = target_zones(ctx)
    mode = upload_mode(ctx)
    ctx.log.info("Creating stemcell %s/%s as template '%s' (%s, %s) in zone(s) %s by %s", name, version,
                 template_name, params.format, ctx.plugins.cloudstack_type, ", ".join(z["name"] for z in zones), mode)
    registration = Registration(ctx, base, tags)
    try:
        if mode == "url":
            register_by_url(ctx, registration, zones, source, file_name(name, version, params))
        else:
            assert source is not None  # direct and auto modes always read the image
            try:
                register_direct(ctx, registration, zones, source, template_name + params.file_suffix,
                                auto=mode == "auto")
            except NoDirectUpload:
                register_by_url(ctx, registration, zones, source, file_name(name, version, params))
    except BaseException:
        if registration.created:
            ctx.log.info("Deleting the half-made template(s) %s", ", ".join(t["id"] for t in registration.created))
            delete_templates(ctx, registration.created, strict=False)
        raise
    cid = registration.created[0]["id"]
    ctx.log.info("Stemcell %s/%s is template %s", name, version, cid)
    return cid


def delete_stemcell(ctx: CallContext, stemcell_cid: str) -> None:
    """Delete the stemcell's template in every zone; success when it is already gone.

    Light CIDs reference someone else's template and are never deleted.
    """
    parsed = parse_cid(stemcell_cid)
    if parsed.light:
        ctx.log.info("Stemcell %s is light: template %s is not ours to delete", stemcell_cid, parsed.ref)
        return None
    found: dict[str, dict[str, Any]] = {}
    if is_uuid(parsed.ref):
        # the tag query finds the CID's template and every per-zone copy in one request; the
        # lookup by id is needed only when the CID's own template carries no tag (its tag job
        # is off create_stemcell's critical path, so a killed call can leave it untagged)
        found.update((str(t["id"]), t) for t in templates_tagged(ctx, parsed.ref))
    if parsed.ref not in found:
        primary = find_template(ctx, stemcell_cid)
        if primary is not None:
            found[str(primary["id"])] = primary
    if not found:
        ctx.log.info("Stemcell %s not found; nothing to delete", stemcell_cid)
        return None
    delete_templates(ctx, found.values())
    return None


# -- checks and names ----------------------------------------------------------------------


def light_reference(props: dict[str, Any]) -> str | None:
    for key in LIGHT_KEYS:
        value = props.get(key)
        if value not in (None, ""):
            return str(value)
    return None


def accepted_values(ctx: CallContext) -> dict[str, set[str]]:
    """What the active plugin accepts, per stemcell property, lowercased.

    Formats are ``<infrastructure>-<disk format>`` (``cloudstack-vhdx``, ``openstack-qcow2``);
    a hypervisor is accepted by any plugin name of the chain or the CloudStack type.
    """
    formats = ctx.plugins.stemcell_formats
    return {
        "infrastructure": {"cloudstack"} | {f.split("-", 1)[0].lower() for f in formats},
        "hypervisor": accepted_hypervisors(ctx),
        "architecture": set(ARCHITECTURES),
    }


def accepted_hypervisors(ctx: CallContext) -> set[str]:
    """The chain's plugin names, the CloudStack type and its :data:`HYPERVISOR_ALIASES`, lowercased."""
    cloudstack_type = ctx.plugins.cloudstack_type.lower()
    return ({loaded.spec.name.lower() for loaded in ctx.plugins.chain} | {cloudstack_type}
            | {alias for alias, target in HYPERVISOR_ALIASES.items() if target.lower() == cloudstack_type})


def check_stemcell(ctx: CallContext, props: dict[str, Any]) -> None:
    """CpiError listing every property that does not fit the active plugin (absent ones are not checked)."""
    _raise_problems(ctx, props, _problems(props, accepted_values(ctx)))


def check_disk_format(ctx: CallContext, props: dict[str, Any], params: TemplateParams) -> None:
    formats = {f.split("-", 1)[1].lower() for f in ctx.plugins.stemcell_formats if "-" in f}
    formats.add(params.format.lower())
    _raise_problems(ctx, props, _problems(props, {"disk_format": formats}))


def _problems(props: dict[str, Any], accepted: dict[str, set[str]]) -> list[str]:
    problems = []
    for key, allowed in accepted.items():
        value = props.get(key)
        if value is not None and str(value).lower() not in allowed:
            problems.append(f"{key} '{value}' (expected {' or '.join(sorted(allowed))})")
    return problems


def _raise_problems(ctx: CallContext, props: dict[str, Any], problems: list[str]) -> None:
    if problems:
        raise CpiError(
            f"Stemcell {stemcell_name(props)}/{stemcell_version(props)} does not fit the '{ctx.plugins.spec.name}' "
            f"hypervisor plugin ({ctx.plugins.cloudstack_type}, stemcell formats "
            f"{', '.join(ctx.plugins.stemcell_formats) or 'none'}): " + "; ".join(problems)
        )


def stemcell_name(props: dict[str, Any]) -> str:
    return str(props.get("name") or "stemcell")


def stemcell_version(props: dict[str, Any]) -> str:
    return str(props.get("version") or "unknown")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "x"


def make_template_name(name: str, version: str) -> str:
    """``bosh-<name>-<version>-<8 hex>``: unique, and traceable to the stemcell at a glance."""
    suffix = f"-{_slug(version)}-{uuid.uuid4().hex[:8]}"
    stem = _slug(name)
    if not stem.startswith("bosh-"):
        stem = f"bosh-{stem}"
    return stem[: MAX_NAME - len(suffix)] + suffix


def file_name(name: str, version: str, params: TemplateParams) -> str:
    """The image file name in url mode: ``<name>-<version><suffix>`` (what the operator serves)."""
    return f"{_slug(name)}-{_slug(version)}{params.file_suffix}"


def _check_image(image_path: str) -> None:
    if not os.path.isfile(image_path):
        raise CpiError(f"Stemcell image '{image_path}' does not exist or is not a file")
    if os.path.getsize(image_path) == 0:
        raise CpiError(f"Stemcell image '{image_path}' is empty; a light stemcell needs one of "
                       f"{', '.join(LIGHT_KEYS)} in its cloud_properties")


def _image_source(ctx: CallContext, image_path: str, params: TemplateParams) -> ImageSource | None:
    """What this call uploads or serves, checked before anything is created: the image file, or the
    plugin's ``image_member`` streamed out of it. None when the operator's server serves the image."""
    member = params.image_member
    if ctx.config.cloudstack.stemcell_upload_mode == "url" and not ctx.config.cpi.stemcell_serve_address:
        if member:
            ctx.log.info("The server under cloudstack.stemcell_url_base must serve '%s' extracted from the stemcell "
                         "image, not the image archive itself", member)
        return None
    from cpi_framework.services.upload import human_size, image_source

    source = image_source(image_path, member)
    if member and source.member is None:
        ctx.log.warning("Stemcell image %s is not a tar archive; taking it whole as the image ('%s' expected "
                        "inside an archive)", image_path, member)
    elif source.member:
        if source.size == 0:
            raise CloudError(f"'{member}' in the stemcell image archive {image_path} is empty")
        ctx.log.info("The image is '%s' (%s) streamed out of the archive %s (%s)", source.member,
                     human_size(source.size), image_path, source.compression or "uncompressed")
    return source


def _v3_tags(ctx: CallContext, env: dict | None) -> dict[str, str]:
    if ctx.api_version < 3 or not isinstance(env, dict) or not isinstance(env.get("tags"), dict):
        return {}
    return stringify_metadata(env["tags"])


def target_zones(ctx: CallContext) -> list[dict[str, Any]]:
    """The default zone, then ``cloudstack.stemcell_zones`` (duplicates dropped)."""
    zones: dict[str, dict[str, Any]] = {}
    for wanted in (None, *ctx.config.cloudstack.stemcell_zones):
        zone = catalog.zone(ctx, wanted)
        zones.setdefault(zone["id"], zone)
    return list(zones.values())


# -- light stemcells -----------------------------------------------------------------------


def _create_light(ctx: CallContext, reference: str) -> str:
    zone = catalog.zone(ctx)
    template = find_template(ctx, f"{reference} light", zone["id"])
    if template is None:
        raise CloudError(f"Light stemcell references template '{reference}', which does not exist in zone "
                         f"{zone['name']} (or is not usable by this account)")
    hypervisor = str(template.get("hypervisor") or "")
    if hypervisor and hypervisor.lower() != ctx.plugins.cloudstack_type.lower():
        raise CloudError(f"Light stemcell template '{reference}' is a {hypervisor} template; the "
                         f"'{ctx.plugins.spec.name}' plugin deploys to {ctx.plugins.cloudstack_type}")
    if str(template.get("isready")).lower() != "true":
        ctx.log.warning("Light stemcell template %s is not ready yet (%s)", template["id"], template.get("status"))
    cid = light_cid(template)
    ctx.log.info("Light stemcell: template '%s' (%s) → CID '%s'", template.get("name"), template["id"], cid)
    return cid
