"""The checks that need no cloud: the config file, the agent settings, the cloud-config file, the plugin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cpi_framework.tools.check.base import CheckerBase
from cpi_framework.tools.common import (
    CloudConfigError,
    UninterpolatedCloudConfig,
    cloud_config_summary,
    load_cloud_config,
)

if TYPE_CHECKING:
    from cpi_framework.config import Config


class LocalChecks(CheckerBase):
    """Read only local files and the installed plugins; run before any request reaches the cloud."""

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
