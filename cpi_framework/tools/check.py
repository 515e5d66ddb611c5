"""``cloudstack-cpi check``: validate the config, then the cloud it points at, one line per fact.

Every check is read-only: nothing is created, uploaded or tagged. The order follows what
depends on what (no zone checks without working keys), and each failure carries the fix.
Template-upload permission is read from ``listApis`` (the commands the account's role may
call) and the account's template/secondary-storage limits, never by requesting upload
parameters, because ``getUploadParamsForTemplate`` already creates a template record. The one
exception is opt-in: ``--probe-upload`` asks for upload parameters to learn the upload host
(the SSVM) and test its TLS, then deletes that record (:mod:`.upload_probe`).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from cpi_framework.tools.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CloudConfigError,
    UninterpolatedCloudConfig,
    az_zones,
    cloud_config_summary,
    color,
    common_options,
    disk_types,
    load_cloud_config,
    make_parser,
    network_refs,
    print_json,
    run_tool,
    tool_context,
    vm_types,
)

if TYPE_CHECKING:
    from cpi_framework.config import Config
    from cpi_framework.context import CallContext

STATUSES = ("pass", "warn", "fail", "skip")
DENIED = 432  # ApiErrorCode.UNSUPPORTED_ACTION_ERROR: the role does not allow the command (ApiServer)
# Reads the CPI itself makes (services.catalog): a role without them fails deploys too.
CPI_READS = frozenset({"listZones", "listServiceOfferings", "listDiskOfferings", "listNetworks", "listOsTypes"})


@dataclass
class Result:
    check: str
    status: str
    message: str
    fix: str = ""


class Checker:
    """Runs the checks in order, collecting one :class:`Result` each; stops where later ones cannot run."""

    def __init__(self, config_path: str, cloud_config_path: str | None, *, verbose: bool = False,
                 probe_upload: bool = False) -> None:
        self.config_path = config_path
        self.probe_upload = probe_upload
        self.upload_mode: str | None = None
        """``direct`` or ``url`` once known (``auto`` resolved by the cloud's version)."""
        self.cloud_config_path = cloud_config_path
        self.verbose = verbose
        self.results: list[Result] = []
        self.ctx: CallContext | None = None
        self.capabilities: dict[str, Any] = {}
        self.config_invalid = False
        self.userdata_providers: list[str] = []  # of the cloud-config's networks, for check_guest

    def add(self, check: str, status: str, message: str, fix: str = "") -> Result:
        result = Result(check, status, message, fix)
        self.results.append(result)
        return result

    def find(self, label: str, fix: str, lookup: Callable[..., dict[str, Any]], *args: str,
             suffix: str = "") -> dict[str, Any] | None:
        """A catalogue lookup (services.catalog); a miss becomes a failed line naming what exists."""
        from cpi_framework.cloudstack import CloudStackError
        from cpi_framework.errors import CloudError

        assert self.ctx is not None
        try:
            return lookup(self.ctx, *args)
        except CloudError as exc:
            self.add(label, "fail", f"{exc}{suffix}", fix)
        except CloudStackError as exc:
            self.unreadable(label, label, exc)
        return None

    def read(self, label: str, what: str, command: str, params: dict[str, Any]) -> list[dict[str, Any]] | None:
        """``client.list``; a refused read becomes a line saying what could not be checked."""
        from cpi_framework.cloudstack import CloudStackError

        assert self.ctx is not None
        try:
            return self.ctx.client.list(command, params)
        except CloudStackError as exc:
            self.unreadable(label, what, exc)
            return None

    def unreadable(self, label: str, what: str, exc: Exception) -> Result:
        """What could not be checked, why, and the role permission that would let ``check`` read it.

        A denied read the CPI needs too is a failure (deploys fail the same way); one only
        ``check`` makes is a warning.
        """
        command = getattr(exc, "command", None) or "the command"
        if getattr(exc, "errorcode", None) == DENIED:
            needed = command in CPI_READS
            fix = f"allow {command} in the account's role (CloudStack: Roles → the account's role → Rules)"
            fix += (": the CPI calls it too, deploys fail without it" if needed
                    else " so check can verify this; the CPI itself does not need it")
            return self.add(label, "fail" if needed else "warn",
                            f"could not check {what}: the account's role may not call {command} "
                            f"(CloudStack error {DENIED})", fix)
        return self.add(label, "warn", f"could not check {what}: {exc}",
                        "run check again; if it persists, the cloud's management server log says why")

    @property
    def failed(self) -> bool:
        return any(r.status == "fail" for r in self.results)

    def run(self) -> list[Result]:
        from cpi_framework.cloudstack import CloudStackError

        config = self.check_config()
        cloud = self.check_cloud_config_file()
        if config is None:
            return self.results
        self.check_agent_settings(config)
        # retries are reported by the failing line itself, so only errors reach stderr
        self.ctx = tool_context(config, "check", verbose=self.verbose, level=logging.ERROR)
        try:
            if not self.check_plugin() or not self.check_endpoint():
                return self.results
            zone = self.check_zone(config.cloudstack.default_zone, "zone")
            for extra in config.cloudstack.stemcell_zones:
                self.check_zone(extra, f"stemcell zone {extra}")
            config = self.ctx.config  # now with the plugin's defaults (OS type…)
            self.check_offerings(config)
            self.check_key_pair(config)
            self.check_os_type(config)
            if cloud is not None:
                self.check_cloud_config(cloud, zone)
            self.check_guest(config)
            self.check_template_upload(config)
            self.check_upload_host(config)
            self.report_throttling()
        except CloudStackError as exc:  # a read no line guards: still a line, never a traceback
            self.unreadable("cloud", "the rest of the cloud", exc)
        finally:
            self.ctx.close()
        return self.results

    # -- config ------------------------------------------------------------------------------

    def check_config(self) -> Config | None:
        from cpi_framework.config import did_you_mean, flatten_errors, load_config
        from cpi_framework.errors import ConfigError

        try:
            config = load_config(self.config_path)
        except ConfigError as exc:
            self.config_invalid = True
            if isinstance(exc.messages, dict):
                for key, text in flatten_errors(exc.messages):
                    hint = did_you_mean(key) if text == "unknown key" else ""
                    self.add("config", "fail", f"{self.config_path}: {key}: {text}{hint}", _config_fix(key, text))
            else:
                self.add("config", "fail", str(exc), "fix the file (JSON or YAML holding the job's properties)")
            return None
        self.add("config", "pass", f"{self.config_path} is valid (hypervisor plugin '{config.cloudstack.hypervisor}')")
        return config

    def check_agent_settings(self, config: Config) -> None:
        """Without mbus/blobstore the agent settings a VM gets lack them (agent_settings.build).

        That is fine only when someone else supplies them: the bosh-agent prefers
        ``env.bosh.mbus.urls`` and ``env.bosh.blobstores`` from create_vm's env over the settings'
        own keys (``Settings.GetMbusURL``/``GetBlobstore`` in bosh-agent settings/settings.go), and a
        director's CPI context (``bosh update-cpi-config``) may set ``cpi.agent.mbus``/``cpi.blobstore``
        per request. The file alone cannot tell, so each is a warning, not a failure.
        """
        supplied = ("fine only if every create_vm gets it another way: env.bosh.{key} in the VM's env "
                    "(the agent prefers it), or {prop} in the director's CPI context")
        if not config.cpi.agent.mbus:
            self.add("agent mbus", "warn", "cpi.agent.mbus is not set: VMs get agent settings without an mbus URL, "
                     "and an agent without one never reaches the director",
                     "set cpi.agent.mbus (create-env: https://mbus:PASSWORD@0.0.0.0:6868; a director's own "
                     "cloudstack_cpi job: nats://NATS_IP:4222); " + supplied.format(key="mbus.urls",
                                                                                       prop="cpi.agent.mbus"))
        if not config.cpi.blobstore.provider:
            self.add("agent blobstore", "warn", "cpi.blobstore.provider is not set: VMs get agent settings "
                     "without a blobstore, so agents cannot fetch packages or upload logs",
                     "set cpi.blobstore (create-env: provider local; a director: provider dav with its address, "
                     "port and agent credentials); " + supplied.format(key="blobstores", prop="cpi.blobstore"))

    def check_cloud_config_file(self) -> dict[str, Any] | None:
        if not self.cloud_config_path:
            return None
        try:
            cloud = load_cloud_config(self.cloud_config_path)
        except UninterpolatedCloudConfig as exc:
            self.add("cloud-config", "fail", str(exc), f"interpolate it first: bosh int {self.cloud_config_path} "
                     "-l vars.yml > cloud-config-final.yml (or -v name=value), then --cloud-config "
                     "cloud-config-final.yml")
            return None
        except CloudConfigError as exc:
            self.add("cloud-config", "fail", str(exc), "pass the output of 'bosh cloud-config' (YAML)")
            return None
        self.add("cloud-config", "pass", f"{self.cloud_config_path}: {cloud_config_summary(cloud)}")
        return cloud

    def check_plugin(self) -> bool:
        from cpi_framework.errors import PluginError
        from cpi_framework.plugin_system.host import PluginHost

        assert self.ctx is not None
        name = self.ctx.config.cloudstack.hypervisor
        try:
            plugins = PluginHost(name)
            kind = plugins.cloudstack_type
        except PluginError as exc:
            self.add("plugin", "fail", str(exc), "install the plugin (pip install …) or fix cloudstack.hypervisor; "
                     "'cloudstack-cpi plugins' lists what is installed")
            return False
        self.ctx.plugins = plugins
        self.ctx.config = self.ctx.config.with_plugin_defaults(plugins.defaults)
        chain = " → ".join(p.spec.name for p in plugins.chain)
        self.add("plugin", "pass", f"plugin '{name}' loaded (chain {chain}, CloudStack hypervisor {kind})")
        return True

    # -- cloud -------------------------------------------------------------------------------

    def check_endpoint(self) -> bool:
        """One cheap read (listCapabilities) proves reachability, TLS and the keys together."""
        from cpi_framework.cloudstack import (
            ApiError,
            AuthenticationError,
            CloudStackError,
            NotTLSError,
            TLSError,
            TransportError,
            UnexpectedResponse,
        )

        assert self.ctx is not None
        cs = self.ctx.config.cloudstack
        try:
            self.capabilities = self.ctx.client.call("listCapabilities").get("capability") or {}
        except NotTLSError:
            self.add("endpoint", "fail", f"{cs.endpoint} does not speak TLS: the server answered in plain HTTP",
                     "use an http:// endpoint if the server has no TLS, or the https:// URL of the port that serves "
                     "TLS (often 8443, or 443 behind a proxy); cloudstack.ca_cert does not help here")
            return False
        except TLSError as exc:
            fix = ("put the CA certificate (PEM) of the endpoint in cloudstack.ca_cert" if not cs.ca_cert else
                   "cloudstack.ca_cert does not verify this server's certificate: use the CA that signed it, and "
                   "check that the certificate names the endpoint's host")
            self.add("endpoint", "fail", str(exc).partition(": ")[2] or str(exc), fix)
            return False
        except UnexpectedResponse as exc:
            self.add("endpoint", "fail", str(exc), "cloudstack.endpoint must be the API URL, e.g. "
                     "https://cloud.example.com/client/api")
            return False
        except TransportError as exc:
            self.add("endpoint", "fail", f"cannot reach {cs.endpoint}: {exc}",
                     "check cloudstack.endpoint, the network path from this host, and cloudstack.proxy_*")
            return False
        except AuthenticationError as exc:
            self.add("endpoint", "pass", f"{cs.endpoint} answers{_tls_note(cs)}")
            self.add("keys", "fail", f"the API rejected the keys: {exc.errortext}",
                     "set cloudstack.api_key and cloudstack.secret_access_key to a key pair of an enabled user "
                     "(CloudStack UI: Accounts → user → Generate keys); also check this host's clock")
            return False
        except ApiError as exc:
            self.add("endpoint", "pass", f"{cs.endpoint} answers{_tls_note(cs)}")
            if exc.errorcode == DENIED:  # the keys are proven by the next read, which signs the same way
                self.unreadable("keys", "the keys and the CloudStack version", exc)
                self.capabilities = {"denied": True}
                return True
            self.add("keys", "fail", f"listCapabilities failed: {exc}", "the account's role must allow read commands")
            return False
        except CloudStackError as exc:
            self.add("endpoint", "fail", f"listCapabilities failed: {exc}",
                     "check cloudstack.endpoint and the cloud's management server")
            return False
        self.add("endpoint", "pass", f"{cs.endpoint} answers{_tls_note(cs)}",
                 "" if cs.endpoint.startswith("https://") else "plain HTTP: prefer an https:// endpoint")
        if cs.endpoint.startswith("http://"):
            self.results[-1].status = "warn"
        version = self.capabilities.get("cloudstackversion", "unknown")
        self.add("keys", "pass", f"API key accepted (CloudStack {version})")
        self.check_version()
        return True

    def check_version(self) -> None:
        """Name the cloud's CloudStack version and what it implies: the routes the CPI takes, the keys that matter."""
        from cpi_framework.services import versions

        assert self.ctx is not None
        cs, cpi = self.ctx.config.cloudstack, self.ctx.config.cpi
        reported = self.capabilities.get("cloudstackversion")
        version = versions.parse_version(reported)
        if version is None:
            self.add("version", "warn", f"the cloud does not report a CloudStack version ({reported!r})",
                     "set cloudstack.version to the cloud's version so the CPI need not probe")
            return
        shown = versions.show(version)
        facts, fixes, status = [], [], "pass"
        if version < versions.OLDEST_SUPPORTED:
            status = "warn"
            facts.append(f"older than {versions.show(versions.OLDEST_SUPPORTED)}, the oldest version tested")
        direct = version >= versions.COMMANDS_SINCE["getUploadParamsForTemplate"]
        if direct:
            facts.append("stemcells by direct upload (getUploadParamsForTemplate)")
        else:
            facts.append("no direct upload before 4.6: stemcells by URL registration (registerTemplate)")
            if cs.stemcell_upload_mode == "direct":
                status = "fail"
                fixes.append("set cloudstack.stemcell_upload_mode to auto or url")
            elif not (cpi.stemcell_serve_address or cs.stemcell_url_base):
                status = "warn" if status == "pass" else status
                fixes.append("set cpi.stemcell_serve_address to an address:port of this host the secondary storage "
                             "VM can reach (else the CPI serves on its address towards the API, on a random port), "
                             "or cloudstack.stemcell_url_base")
        if version >= versions.COMMANDS_SINCE["changeOfferingForVolume"]:
            facts.append("disk offering changes by changeOfferingForVolume")
        else:
            facts.append("disk offering changes by resizeVolume (changeOfferingForVolume from 4.17)")
        facts.append("unknown commands answer " + ("401, like wrong keys" if version >= (4, 11) else "432"))
        configured = versions.configured(self.ctx)
        keys = ["cloudstack.stemcell_serve_address or cloudstack.stemcell_url_base"] if not direct else []
        if configured is None and version < versions.COMMANDS_SINCE["changeOfferingForVolume"]:
            keys.append(f"cloudstack.version: \"{shown}\" (optional: the CPI then skips the refused first try of "
                        "newer commands)")
        if keys:
            facts.append("config keys that matter on this version: " + ", ".join(keys))
        if configured is not None and configured[:2] != version[:2]:
            status = "warn" if status == "pass" else status
            fixes.insert(0, f"cloudstack.version is {versions.show(configured)} but the cloud runs {shown}: "
                            f"set it to \"{shown}\" or remove it")
        self.add("version", status, f"CloudStack {shown}: " + "; ".join(facts), "; ".join(fixes))

    def check_zone(self, name: str, label: str) -> dict[str, Any] | None:
        from cpi_framework.services import catalog

        assert self.ctx is not None
        zone = self.find(label, "set cloudstack.default_zone (or the AZ's zone) to one of the available zones",
                         catalog.zone, name)
        if zone is None:
            return None
        wanted = self.ctx.plugins.cloudstack_type
        hypervisors = self.read(label, f"which hypervisor zone '{name}' runs", "listHypervisors",
                                {"zoneid": zone["id"]})
        if hypervisors is None:
            return zone
        kinds = sorted({h.get("name", "") for h in hypervisors})
        if kinds and wanted not in kinds:
            plugin = self.ctx.config.cloudstack.hypervisor
            self.add(label, "fail", f"zone '{name}' runs {', '.join(kinds)}, but plugin '{plugin}' deploys {wanted}",
                     _hypervisor_fix(kinds))
        else:
            self.add(label, "pass", f"zone '{name}' exists ({zone['id']}), hypervisor {', '.join(kinds) or wanted}")
        return zone

    def check_offerings(self, config: Config) -> None:
        for prop, name, where in (
            ("cpi.default_disk_offering", config.cpi.default_disk_offering, "disk type a disk_offering"),
            ("cpi.default_ephemeral_disk_offering", config.cpi.default_ephemeral_disk_offering,
             "VM type an ephemeral_disk_offering"),
        ):
            if not name:
                self.add(prop, "warn", f"{prop} is not set", f"set it to a custom-size disk offering, or give every "
                         f"{where}")
                continue
            self.disk_offering(prop, name, size_mb=None)

    def disk_offering(self, label: str, name: str, *, size_mb: int | None) -> dict[str, Any] | None:
        """An offering must exist; a fixed-size one only fits requests of its own size."""
        from cpi_framework.services import catalog

        assert self.ctx is not None
        offering = self.find(label, "name an existing disk offering (or its id)", catalog.disk_offering, name)
        if offering is None:
            return None
        if offering.get("iscustomized"):
            self.add(label, "pass", f"disk offering '{name}' exists (custom size)")
        elif size_mb is None:
            self.add(label, "warn", f"disk offering '{name}' has a fixed size of {offering.get('disksize')} GB",
                     "disks of any other size need a custom-size offering here")
        elif int(offering.get("disksize") or 0) * 1024 < size_mb:
            self.add(label, "fail", f"disk offering '{name}' is {offering.get('disksize')} GB fixed, smaller than "
                     f"the {size_mb} MB asked for", "use a custom-size offering or a larger one")
        else:
            self.add(label, "pass", f"disk offering '{name}' exists ({offering.get('disksize')} GB fixed)")
        return offering

    def compute_offering(self, label: str, name: str, *, custom: bool) -> None:
        from cpi_framework.services import catalog

        assert self.ctx is not None
        offering = self.find(label, "name an existing compute offering (or its id)", catalog.service_offering, name)
        if offering is None:
            return
        if custom and not offering.get("iscustomized"):
            self.add(label, "fail", f"compute offering '{name}' is not customizable but cpu/ram are set",
                     "use a custom compute offering with cpu/ram, or drop cpu/ram")
        else:
            self.add(label, "pass", f"compute offering '{name}' exists")

    def check_key_pair(self, config: Config) -> None:
        from cpi_framework.services import catalog

        assert self.ctx is not None
        name = config.cloudstack.default_key_name
        if not name:
            self.add("key pair", "skip", "cloudstack.default_key_name is not set (VMs get no SSH key)")
            return
        fix = "create it (CloudStack UI: SSH Key Pairs) or fix cloudstack.default_key_name"
        if self.find("key pair", fix, catalog.key_pair, name) is not None:
            self.add("key pair", "pass", f"SSH key pair '{name}' exists")

    def check_os_type(self, config: Config) -> None:
        from cpi_framework.services import catalog

        assert self.ctx is not None
        wanted = config.cloudstack.stemcell_os_type
        if not wanted:
            return
        fix = "set cloudstack.stemcell_os_type to an OS type description"
        if self.find("os type", fix, catalog.os_type, wanted) is not None:
            self.add("os type", "pass", f"OS type '{wanted}' exists")

    def check_cloud_config(self, cloud: dict[str, Any], default_zone: dict[str, Any] | None) -> None:
        from cpi_framework.services import catalog

        assert self.ctx is not None
        zones: dict[str | None, dict[str, Any] | None] = {None: default_zone}
        for az, zone_name in az_zones(cloud).items():
            zones[az] = self.check_zone(zone_name, f"az {az}") if zone_name else default_zone
        for item in vm_types(cloud):
            label = f"vm_type {item.name}"
            if item.compute_offering:
                self.compute_offering(label, item.compute_offering, custom=item.custom_compute)
            offering = item.ephemeral_disk_offering or self.ctx.config.cpi.default_ephemeral_disk_offering
            if offering and item.ephemeral_mb:
                self.disk_offering(f"{label} ephemeral", offering, size_mb=item.ephemeral_mb)
        for item in disk_types(cloud):
            offering = item.disk_offering or self.ctx.config.cpi.default_disk_offering
            if offering:
                self.disk_offering(f"disk_type {item.name}", offering, size_mb=item.size_mb)
        for net in network_refs(cloud):
            zone = zones.get(net.az, default_zone)
            label = f"network {net.network}" + (f" (az {net.az})" if net.az else "")
            if zone is None:
                self.add(label, "skip", "its zone could not be checked")
                continue
            found = self.find(label, "set the subnet's cloud_properties.name to a network of that zone",
                              catalog.network, zone["id"], net.name, suffix=f" in zone '{zone.get('name')}'")
            if found is None:
                continue
            provider = _userdata_provider(found)
            self.userdata_providers.extend(p.strip() for p in (provider or "").split(",") if p.strip())
            if provider is None:
                self.add(label, "fail", f"network '{net.name}' offers no UserData service: agents cannot read "
                         "their settings", "use a network whose offering has UserData (VirtualRouter or "
                         "ConfigDrive)")
            else:
                self.add(label, "pass", f"network '{net.name}' exists, user data via {provider}")

    def check_guest(self, config: Config) -> None:
        """The plugin's warnings about the guest the stemcell's agent meets: disk bus, settings source."""
        from cpi_framework.errors import PluginError

        assert self.ctx is not None
        os_type = config.cloudstack.stemcell_os_type or ""
        try:
            warnings = self.ctx.plugins.guest_warnings(os_type, sorted(set(self.userdata_providers)))
        except PluginError as err:
            self.add("guest", "warn", f"the plugin could not judge the guest: {err}")
            return
        for message, fix in warnings:
            self.add("guest", "warn", message, fix)

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

    def report_throttling(self) -> None:
        caps = self.capabilities
        limit, interval = caps.get("apilimitmax"), caps.get("apilimitinterval")
        if caps.get("denied"):
            self.add("api limits", "skip", "unknown: listCapabilities was refused (see keys)")
        elif limit is None:
            self.add("api limits", "skip", "the cloud does not report API throttling (listCapabilities)")
        elif int(limit) <= 0:
            self.add("api limits", "pass", "API throttling is off")
        else:
            rate = int(limit) / max(float(interval or 1), 1.0)
            status = "warn" if rate < 2 else "pass"
            self.add("api limits", status, f"API throttling: {limit} requests per {interval or 1} s per account",
                     "the CPI waits out throttling (429), but deploys will be slow; ask for a higher "
                     "api.throttling.max" if status == "warn" else "")


# -- helpers -----------------------------------------------------------------------------------


def _config_fix(key: str, text: str) -> str:
    if text == "unknown key":
        from cpi_framework.config import suggest_key

        close = suggest_key(key)
        if close:
            return f"rename it to '{close}'"
        return (f"remove '{key}' or fix its spelling (the WebDAV keys of the Java CloudStack CPI, "
                "bosh-cloudstack-cpi-core, such as cpi.webdav_*, are not used)")
    if text == "missing required key":
        return f"set '{key}'"
    return f"fix the value of '{key}'"


def _tls_note(cs: Any) -> str:
    if not cs.endpoint.startswith("https://"):
        return " (plain HTTP, not encrypted)"
    return ", TLS verified with cloudstack.ca_cert" if cs.ca_cert else ", TLS verified"


def _hypervisor_fix(kinds: list[str]) -> str:
    from cpi_framework.plugin_system.host import PluginHost
    from cpi_framework.plugin_system.manager import discover

    names = []
    for name in sorted(discover()):
        try:
            if PluginHost(name).cloudstack_type in kinds:
                names.append(name)
        except Exception:  # a broken plugin must not hide the advice
            continue
    if names:
        return f"set cloudstack.hypervisor to {' or '.join(names)}, or choose a zone of the plugin's hypervisor"
    return "install a plugin for that hypervisor, or choose a zone of the plugin's hypervisor"


def _userdata_provider(network: dict[str, Any]) -> str | None:
    for service in network.get("service") or []:
        if service.get("name") == "UserData":
            providers = [p.get("name") for p in service.get("provider") or [] if p.get("name")]
            return ", ".join(providers) or "unknown provider"
    return None


def render(results: list[Result], stream: Any = None) -> None:
    out = stream or sys.stdout
    marks = {"pass": ("PASS", "green"), "warn": ("WARN", "yellow"), "fail": ("FAIL", "red"), "skip": ("SKIP", "dim")}
    width = max((len(r.check) for r in results), default=0)
    for r in results:
        mark, hue = marks[r.status]
        out.write(f"{color(mark, hue, out)}  {r.check.ljust(width)}  {r.message}\n")
        if r.fix and r.status in ("fail", "warn"):
            out.write(f"{' ' * (width + 8)}fix: {r.fix}\n")
    counts = {s: sum(1 for r in results if r.status == s) for s in STATUSES}
    out.write(", ".join(f"{n} {s}" for s, n in counts.items() if n) + "\n")


def main(argv: list[str]) -> int:
    parser = make_parser(
        "check", "Validate the CPI config, then the CloudStack cloud it points at (read-only).",
        parents=[common_options()],
        epilog="Each line is PASS, WARN, FAIL or SKIP; failures and warnings say how to fix them.\n"
               "Exit status: 0 when nothing failed, 1 when a check failed, 2 on a usage error or an\n"
               "invalid config file (each problem is its own FAIL line).",
    )
    parser.add_argument("--cloud-config", metavar="PATH",
                        help="a BOSH cloud-config (YAML) whose AZs, VM/disk types and networks are checked too")
    parser.add_argument("--probe-upload", action="store_true",
                        help="also test the TLS of the stemcell upload host (the secondary storage VM) of each "
                             "stemcell zone: asks getUploadParamsForTemplate, which creates an empty template "
                             "record, and deletes it at once (the only check that writes)")
    args = parser.parse_args(argv)

    def body() -> int:
        checker = Checker(args.config, args.cloud_config, verbose=args.verbose, probe_upload=args.probe_upload)
        results = checker.run()
        if args.json:
            print_json({"ok": not checker.failed, "checks": [asdict(r) for r in results]})
        else:
            render(results)
        if checker.config_invalid:
            return EXIT_USAGE
        return EXIT_FAILED if checker.failed else EXIT_OK

    return run_tool(body)
