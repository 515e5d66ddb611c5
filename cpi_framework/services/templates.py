"""Stemcells as CloudStack templates: CID forms, lookups, readiness, deletion.

Stemcell CIDs come in three forms, all resolved here so ``create_vm`` and ``delete_stemcell``
agree on them:

* ``<uuid>`` — a template this CPI registered (``templatefilter=self``). With
  ``cloudstack.stemcell_zones`` the stemcell is one template *per zone*; the CID is the default
  zone's template id and every per-zone copy carries the tag ``bosh-stemcell-cid=<cid>``, so a
  lookup in another zone finds its copy by tag.
* ``cpitemplate-…`` — made by the earlier CloudStack CPIs (Java bosh-cloudstack-cpi-core, Go);
  resolved by exact name (``templatefilter=self``).
* ``<uuid or name> light`` — a light stemcell: a reference to a template someone else
  published (``templatefilter=executable``: own, featured, public and shared templates).
  ``delete_stemcell`` never deletes it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cpi_framework.errors import CloudError
from cpi_framework.services.catalog import find_one, is_uuid, zone_name

if TYPE_CHECKING:
    from cpi_framework.context import CallContext

LIGHT_SUFFIX = " light"
STEMCELL_CID_TAG = "bosh-stemcell-cid"
"""Tag on every per-zone template of a stemcell, valued with the stemcell's CID."""

READY_STATUS = "Download Complete"
_ERROR_MARKERS = ("error", "fail", "abandon", "mismatch", "invalid", "unable", "corrupt", "timeout", "timed out")
MIN_POLL, MAX_POLL = 0.2, 5.0
POLL_FRACTION = 0.25
"""Readiness is polled at a quarter of the time already waited, clamped to [MIN_POLL, MAX_POLL]. On
a real cloud a direct upload becomes ready at the management server's next upload-monitor pass
(``ImageStoreUploadMonitorImpl``, ``upload.monitoring.interval`` = 60 s by default) after the
SSVM answered the POST: about 27 reads for a minute's wait (a tenth made ~46), noticed at most
25 % or 5 s late; a template ready at once is still seen at the first read."""

# Indirection points for tests (no real sleeping in unit tests).
_sleep = time.sleep
_clock = time.monotonic


@dataclass(frozen=True)
class StemcellRef:
    """A parsed stemcell CID: ``ref`` is a template id or name; ``light`` marks a borrowed template."""

    ref: str
    light: bool = False

    @property
    def cid(self) -> str:
        return f"{self.ref}{LIGHT_SUFFIX}" if self.light else self.ref


def parse_cid(cid: str) -> StemcellRef:
    cid = (cid or "").strip()
    if cid.endswith(LIGHT_SUFFIX) and len(cid) > len(LIGHT_SUFFIX):
        return StemcellRef(cid[: -len(LIGHT_SUFFIX)].strip(), light=True)
    return StemcellRef(cid)


def light_cid(template: dict[str, Any]) -> str:
    return StemcellRef(str(template["id"]), light=True).cid


def _params(zone_id: str | None, templatefilter: str) -> dict[str, Any]:
    return {"templatefilter": templatefilter, "zoneid": zone_id}


def find_template(ctx: CallContext, cid: str, zone_id: str | None = None) -> dict[str, Any] | None:
    """The template a stemcell CID stands for (in ``zone_id`` when given), or None.

    Own templates are looked up with ``templatefilter=self`` (the only filter that lists a
    template still uploading); light references with ``executable``. In a zone other than the
    one the CID's template lives in, the stemcell's per-zone copy is found by its
    ``bosh-stemcell-cid`` tag. A name matching several templates is an error (CloudError).
    """
    parsed = parse_cid(cid)
    if not parsed.ref:
        return None
    if parsed.light:
        return find_one(ctx, "listTemplates", parsed.ref, _params(zone_id, "executable"))
    found = find_one(ctx, "listTemplates", parsed.ref, _params(zone_id, "self"))
    if found is None and zone_id and is_uuid(parsed.ref):
        copies = templates_tagged(ctx, parsed.ref, zone_id)
        found = copies[0] if copies else None
    return found


def get_template(ctx: CallContext, cid: str, zone_id: str | None = None) -> dict[str, Any]:
    """Like :func:`find_template`, raising ``CloudError("Stemcell '<cid>' not found")`` when absent."""
    found = find_template(ctx, cid, zone_id)
    if found is None:
        where = f" in zone {zone_name(ctx, zone_id)}" if zone_id else ""
        raise CloudError(f"Stemcell '{cid}' not found{where}")
    return found


def templates_tagged(ctx: CallContext, stemcell_cid: str, zone_id: str | None = None) -> list[dict[str, Any]]:
    """Every own template carrying ``bosh-stemcell-cid=<stemcell_cid>`` (all zones unless given)."""
    params = {
        **_params(zone_id, "self"),
        "tags": [{"key": STEMCELL_CID_TAG, "value": stemcell_cid}],
    }
    items = ctx.client.list("listTemplates", params)
    return [t for t in items if _tag(t, STEMCELL_CID_TAG) == stemcell_cid]


def _tag(template: dict[str, Any], key: str) -> str | None:
    for tag in template.get("tags") or []:
        if isinstance(tag, dict) and tag.get("key") == key:
            return tag.get("value")
    return None


# -- readiness -----------------------------------------------------------------------------


def template_state(template: dict[str, Any]) -> str:
    """``ready``, ``error`` or ``pending``, from ``isready``, ``status``, ``state`` and download details.

    Error statuses are free text on the server side ("Upload Error", "Failed post download
    script: …", state ``UploadAbandoned``), so any error-looking word in them fails fast.
    """
    if _true(template.get("isready")):
        return "ready"
    texts = [str(template.get("status") or ""), str(template.get("state") or "")]
    for detail in template.get("downloaddetails") or []:
        if isinstance(detail, dict):
            texts.append(str(detail.get("downloadState") or ""))
    if any(marker in text.lower() for text in texts for marker in _ERROR_MARKERS):
        return "error"
    return "pending"


def _true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def describe_status(template: dict[str, Any]) -> str:
    status = template.get("status") or template.get("state") or "no status"
    return str(status)


def wait_template_ready(ctx: CallContext, template_id: str, zone_id: str | None, timeout: float) -> dict[str, Any]:
    """Poll ``listTemplates(self, id, zoneid)`` until the template is ready; return it.

    The interval is a quarter of the time already waited, clamped to [0.2 s, 5 s]. Fails fast
    (CloudError with the server's status text) on an error status or when the template
    disappears; raises CloudError when ``timeout`` seconds pass.
    """
    started = _clock()
    last_status = None
    while True:
        template = _list_one(ctx, template_id, zone_id)
        if template is None:
            raise CloudError(f"Template {template_id} disappeared while waiting for it to become ready")
        state = template_state(template)
        status = describe_status(template)
        if state == "ready":
            ctx.log.info("Template %s is ready in zone %s (%s)", template_id,
                         template.get("zonename") or zone_name(ctx, zone_id), status)
            return template
        if state == "error":
            raise CloudError(
                f"Template {template_id} failed in zone {template.get('zonename') or zone_name(ctx, zone_id)}: {status}"
            )
        if status != last_status:
            ctx.log.info("Template %s: %s", template_id, status)
            last_status = status
        elapsed = _clock() - started
        if elapsed >= timeout:
            raise CloudError(
                f"Timed out after {elapsed:.0f}s waiting for template {template_id} to become ready "
                f"(last status: {status}); raise cloudstack.stemcell_publish_timeout if the cloud is slow"
            )
        _sleep(min(max(elapsed * POLL_FRACTION, MIN_POLL), MAX_POLL, max(timeout - elapsed, 0.0)))


def _list_one(ctx: CallContext, template_id: str, zone_id: str | None) -> dict[str, Any] | None:
    from cpi_framework.cloudstack import ApiError

    try:
        items = ctx.client.list("listTemplates", {**_params(zone_id, "self"), "id": template_id})
    except ApiError as exc:
        if exc.is_not_found:
            return None
        raise
    items = [t for t in items if t.get("id") == template_id]
    return items[0] if items else None


# -- deletion ------------------------------------------------------------------------------


def delete_templates(ctx: CallContext, templates: Iterable[dict[str, Any]], *, strict: bool = True) -> None:
    """Delete templates in every zone they are in (``deleteTemplate`` without ``zoneid``), in parallel.

    Already-gone templates count as deleted. ``strict=False`` (cleanup after a failure) logs
    errors instead of raising, so the original failure is the one reported.
    """
    from cpi_framework.cloudstack import CloudStackError

    ids = list(dict.fromkeys(str(t["id"]) for t in templates))
    submitted: list[tuple[str, Any]] = []
    problems: list[str] = []
    for template_id in ids:
        try:
            submitted.append((template_id, ctx.client.submit("deleteTemplate", {"id": template_id})))
        except CloudStackError as exc:
            if not getattr(exc, "is_not_found", False):
                problems.append(f"{template_id}: {exc}")
    jobs = [job for _, job in submitted]
    results = ctx.client.wait_all(jobs, timeout=ctx.timeout("template"), operation="template") if jobs else []
    for (template_id, _), result in zip(submitted, results, strict=True):
        if isinstance(result, CloudStackError) and not getattr(result, "is_not_found", False):
            problems.append(f"{template_id}: {result}")
        else:
            ctx.log.info("Deleted template %s", template_id)
    if problems:
        message = "Could not delete template(s) " + "; ".join(problems)
        if strict:
            raise CloudError(message)
        ctx.log.warning("%s (left behind; 'cloudstack-cpi orphans' finds it)", message)
