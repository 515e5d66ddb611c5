"""The checks of stemcell uploads: whether the role and limits allow them, and (opt-in) the upload host's TLS."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cpi_framework.tools.check.base import DENIED, CheckerBase

if TYPE_CHECKING:
    from cpi_framework.config import Config


class UploadChecks(CheckerBase):
    """Read-only unless ``--probe-upload``: permission from ``listApis``, room from the account's limits."""

    def check_template_upload(self, config: Config) -> None:
        from cpi_framework.cloudstack import ApiError

        assert self.ctx is not None
        from cpi_framework.services import versions

        mode = config.cloudstack.stemcell_upload_mode
        if mode == "auto":
            reported = self.capabilities.get("cloudstackversion")
            version = versions.configured(self.ctx) or versions.parse_version(reported)
            mode = "url" if version and version < versions.COMMANDS_SINCE["getUploadParamsForTemplate"] else "direct"
        self.upload_mode = mode
        command = "getUploadParamsForTemplate" if mode == "direct" else "registerTemplate"
        try:
            apis = self.ctx.client.list("listApis", {"name": command})
        except ApiError as exc:
            if exc.errorcode == DENIED:
                self.unreadable("template upload", f"whether the role allows {command}", exc)
            else:
                self.add("template upload", "warn", f"cannot tell whether {command} is allowed (listApis: "
                         f"{exc.errortext})", "ask the cloud admin whether the account's role allows it")
            apis = None
        if apis is not None and not any(a.get("name") == command for a in apis):
            other = "url" if mode == "direct" else "direct"
            self.add("template upload", "fail", f"the account's role may not call {command} "
                     f"(stemcell_upload_mode {mode})", f"ask for the permission, or try stemcell_upload_mode {other}")
            return
        limits = self._limits()
        if limits is None:
            return
        if limits.get("4") == 0 or limits.get("11") == 0:
            which = "template" if limits.get("4") == 0 else "secondary storage"
            self.add("template upload", "fail", f"the account's {which} limit is 0",
                     "ask the cloud admin to raise the account's resource limits")
            return
        if config.cloudstack.stemcell_public_visibility and self.capabilities.get("userpublictemplateenabled") is False:
            self.add("template upload", "fail", "stemcell_public_visibility is set but users may not make "
                     "templates public", "set cloudstack.stemcell_public_visibility to false")
            return
        if apis is not None:
            left = "unlimited" if limits.get("4", -1) < 0 else f"limit {limits['4']}"
            self.add("template upload", "pass", f"{command} allowed ({mode} mode), templates {left}")

    def check_upload_host(self, config: Config) -> None:
        """Direct mode: the SSVM's TLS, probed only on request (finding it creates a template record)."""
        from cpi_framework.tools.upload_probe import probe_upload_hosts

        assert self.ctx is not None
        if self.upload_mode != "direct":
            return
        if any(r.check == "template upload" and r.status == "fail" for r in self.results):
            return
        if not self.probe_upload:
            self.add("upload host", "skip", "stemcell uploads go to the secondary storage VM, another host and "
                     "certificate than the endpoint; not probed, because only getUploadParamsForTemplate names it "
                     "and that creates a template record: run with --probe-upload to test it (one empty template "
                     "per zone, deleted at once)")
            return
        for line in probe_upload_hosts(self.ctx, config):
            self.add(line.check, line.status, line.message, line.fix)

    def _limits(self) -> dict[str, int] | None:
        """The account's limits by resource type; ``{}`` when unknown, None when a line says so."""
        from cpi_framework.cloudstack import ApiError

        assert self.ctx is not None
        try:
            rows = self.ctx.client.list("listResourceLimits", {})
        except ApiError as exc:
            if exc.errorcode == DENIED:
                self.unreadable("template upload", "the account's template and storage limits", exc)
                return None
            return {}
        return {str(r.get("resourcetype")): int(r.get("max", -1)) for r in rows if r.get("max") is not None}
