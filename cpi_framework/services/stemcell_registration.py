"""How ``create_stemcell`` puts an image into CloudStack: direct upload or url registration, per zone.

Split from :mod:`cpi_framework.methods.stemcells` (which decides what to register and checks
the stemcell) so the session that creates, tags and awaits the templates, and the servers and
uploads it drives, sit in the services layer. Heavy imports stay inside the functions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from cpi_framework.errors import CloudError
from cpi_framework.services.tags import submit_tags, tags_of
from cpi_framework.services.templates import STEMCELL_CID_TAG, wait_template_ready

if TYPE_CHECKING:
    from cpi_framework.context import CallContext
    from cpi_framework.services.upload import ImageSource


class Registration:
    """Templates created so far by this call (for cleanup), tagged as soon as they exist.

    The ``createTags`` job is submitted the moment a template exists, before any image byte is
    sent, but not waited for there: its poll would sit on the critical path of the upload. The
    readiness check afterwards confirms it (the ready template lists its tags: ``createTags``
    adds all of them in one transaction); only when they are missing is the job itself awaited.
    So an interrupted call still leaves a tagged, findable orphan, and nothing is reported done
    before its tags are.
    """

    def __init__(self, ctx: CallContext, base: dict[str, Any], tags: dict[str, str]) -> None:
        self.ctx = ctx
        self.base = base
        self.tags = tags
        self.created: list[dict[str, Any]] = []

    def call(self, command: str, zone: dict[str, Any], **extra: Any) -> dict[str, Any]:
        """Run the creating command; if its answer is lost, adopt what it made (found by the unique name)."""
        from cpi_framework.cloudstack import CloudStackError, TransportError

        try:
            return self.ctx.client.call(command, {**self.base, "zoneid": zone["id"], **extra})
        except TransportError:
            try:
                made = self.ctx.client.find_by_name("listTemplates", self.base["name"],
                                                    {"templatefilter": "self", "zoneid": zone["id"]})
            except CloudStackError:
                made = []
            self.created.extend({"id": str(t["id"]), "zone": zone} for t in made)
            raise

    def add(self, template_id: str, zone: dict[str, Any]) -> None:
        """Record the template and submit its tags (confirmed by :meth:`wait_all`)."""
        item: dict[str, Any] = {"id": template_id, "zone": zone}
        self.created.append(item)
        item["tags"] = {**self.tags, STEMCELL_CID_TAG: self.created[0]["id"]}
        item["tag_job"] = submit_tags(self.ctx, "Template", [template_id], item["tags"])

    def wait_all(self) -> None:
        """Every template ready and tagged, within ``stemcell_publish_timeout`` for all together."""
        timeout = self.ctx.config.cloudstack.stemcell_publish_timeout * 60
        deadline = self.ctx.client.clock() + timeout
        for item in self.created:
            remaining = max(deadline - self.ctx.client.clock(), 0.0)
            template = wait_template_ready(self.ctx, item["id"], item["zone"]["id"], remaining)
            listed = tags_of(template)
            if item["tag_job"] is not None and any(v and listed.get(k) != v for k, v in item["tags"].items()):
                self.ctx.client.wait(item["tag_job"], timeout=self.ctx.timeout("default"), operation="tags")


def upload_mode(ctx: CallContext) -> str:
    """``direct``, ``url`` or ``auto`` (direct, falling back to url where the cloud has no direct upload).

    ``auto`` with ``cloudstack.version`` set decides at once: CloudStack before 4.6 has no
    ``getUploadParamsForTemplate`` (:mod:`cpi_framework.services.versions`).
    """
    from cpi_framework.services import versions

    mode = ctx.config.cloudstack.stemcell_upload_mode
    if mode == "auto" and versions.offers(ctx, "getUploadParamsForTemplate") is False:
        return "url"
    return mode


class NoDirectUpload(Exception):
    """auto mode: the cloud's version has no getUploadParamsForTemplate; nothing was created."""


def register_direct(
    ctx: CallContext, registration: Registration, zones: list[dict[str, Any]], source: ImageSource, filename: str,
    *, auto: bool = False,
) -> None:
    """Per zone: ``getUploadParamsForTemplate``, tags submitted, then the POST to the SSVM (:mod:`.upload_host`)."""
    from cpi_framework.cloudstack import ApiError
    from cpi_framework.services import versions
    from cpi_framework.services.upload import ProgressLog, UploadFailed, human_size, stream_upload
    from cpi_framework.services.upload_host import describe, upload_verify

    cs = ctx.config.cloudstack
    verify = upload_verify(ctx)
    for zone in zones:
        try:
            answer = registration.call("getUploadParamsForTemplate", zone)
        except ApiError as exc:
            if auto and not registration.created and versions.missing(ctx, "getUploadParamsForTemplate", exc):
                raise NoDirectUpload() from None
            raise
        upload = answer.get("getuploadparams", answer)
        ctx.add_secrets(upload.get("signature"), upload.get("metadata"))
        registration.add(str(upload["id"]), zone)
        headers = {"X-signature": str(upload["signature"]), "X-metadata": str(upload["metadata"]),
                   "X-expires": str(upload["expires"])}
        what = f"Uploading {filename} to zone {zone['name']}"
        try:
            result = stream_upload(
                upload["postURL"], source, filename=filename, headers=headers, verify=verify,
                proxies=cs.proxies, timeout=(cs.connect_timeout, max(cs.read_timeout, 300.0)),
                progress=ProgressLog(ctx.log, what),
            )
        except UploadFailed as exc:
            explained = describe(upload["postURL"], exc.transport, cs) if exc.transport is not None else None
            reason = f"{explained[0]}; {explained[1]}" if explained else f"{exc}{refusal_hint(str(exc))}"
            raise CloudError(f"Uploading the stemcell image to zone {zone['name']} failed: {reason}") from None
        ctx.log.info("Uploaded %s to zone %s in %.1fs (%s/s): %s", human_size(result.bytes_sent), zone["name"],
                     result.seconds, human_size(result.rate), result.text or result.status)
    registration.wait_all()


def refusal_hint(text: str) -> str:
    """What to do about the SSVM's refusals that name a cloud setting (``NfsSecondaryStorageResource``)."""
    if "Maximum file upload size exceeded" in text:
        return " (the cloud's global setting max.template.iso.size, in GB, bounds direct uploads: ask to raise it)"
    if "request not valid anymore" in text:
        return (" (the upload URL expired: the upload started later than upload.operation.timeout minutes after "
                "getUploadParamsForTemplate, or the SSVM's clock is off)")
    return ""


def register_by_url(
    ctx: CallContext, registration: Registration, zones: list[dict[str, Any]], source: ImageSource | None,
    filename: str,
) -> None:
    with image_url(ctx, source, filename) as url:
        for zone in zones:
            answer = registration.call("registerTemplate", zone, url=url)
            templates = answer.get("template") or []
            if not templates or "id" not in templates[0]:
                raise CloudError(f"registerTemplate in zone {zone['name']} answered no template: {answer}")
            registration.add(str(templates[0]["id"]), zone)
        registration.wait_all()


@contextmanager
def image_url(ctx: CallContext, source: ImageSource | None, filename: str) -> Iterator[str]:
    from urllib.parse import quote

    address = ctx.config.cpi.stemcell_serve_address
    base = ctx.config.cloudstack.stemcell_url_base
    if address and source is not None:
        from cpi_framework.services.serve import ImageServer

        try:
            server = ImageServer(source, filename, address, ctx.log)
        except (OSError, ValueError) as exc:
            raise CloudError(f"Cannot serve the stemcell image on cpi.stemcell_serve_address '{address}': {exc}") \
                from None
        with server:
            yield server.url
        return
    if not base and source is not None and ctx.config.cloudstack.stemcell_upload_mode == "auto":
        from cpi_framework.services.serve import ImageServer, default_serve_address

        try:
            address = default_serve_address(ctx.config.cloudstack.endpoint)
        except OSError as exc:
            raise CloudError(f"This cloud registers stemcells by URL, and this host has no route to the API "
                             f"endpoint's address to serve the image on ({exc}); set cpi.stemcell_serve_address or "
                             "cloudstack.stemcell_url_base") from None
        ctx.log.warning("This cloud registers stemcells by URL; serving the image on %s, this host's address towards "
                        "the API (set cpi.stemcell_serve_address to an address:port the secondary storage VM can "
                        "reach, or cloudstack.stemcell_url_base)", address)
        try:
            server = ImageServer(source, filename, address, ctx.log)
        except (OSError, ValueError) as exc:
            raise CloudError(f"Cannot serve the stemcell image on {address} (this host's address towards the API): "
                             f"{exc}; set cpi.stemcell_serve_address or cloudstack.stemcell_url_base") from None
        with server:
            yield server.url
        return
    if not base:
        raise CloudError("cloudstack.stemcell_upload_mode is 'url' but neither cloudstack.stemcell_url_base nor "
                         "cpi.stemcell_serve_address is set")
    url = f"{base.rstrip('/')}/{quote(filename)}"
    ctx.log.info("Registering the image from %s (served by the operator)", url)
    yield url
