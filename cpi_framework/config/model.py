"""The loaded CPI config: frozen dataclasses the rest of the code reads.

Built by the schemas in :mod:`cpi_framework.config.schema`; nothing outside config loading
ever handles the raw dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from cpi_framework.errors import ConfigError


@dataclass(frozen=True)
class Timeouts:
    """Deadlines in seconds; every wait is bounded by one of them."""

    default: float = 1200
    create_vm: float | None = None
    delete_vm: float | None = None
    reboot_vm: float | None = None
    attach_volume: float | None = None
    detach_volume: float | None = None
    volume: float | None = None
    snapshot: float | None = None
    template: float | None = None

    def for_op(self, operation: str) -> float:
        """The deadline for an operation, falling back to ``default``."""
        value = getattr(self, operation, None)
        return float(value if value is not None else self.default)


@dataclass(frozen=True)
class CloudStackConfig:
    endpoint: str
    api_key: str
    secret_access_key: str
    default_zone: str
    hypervisor: str = "xen"
    default_key_name: str | None = None
    ca_cert: str | None = None
    upload_ca_cert: str | None = None
    stemcell_os_type: str | None = None
    stemcell_requires_hvm: bool | None = None
    stemcell_public_visibility: bool = False
    stemcell_publish_timeout: float = 30
    stemcell_upload_mode: str = "auto"
    stemcell_url_base: str | None = None
    stemcell_zones: tuple[str, ...] = ()
    proxy_host: str | None = None
    proxy_port: int = 8080
    proxy_user: str | None = None
    proxy_password: str | None = None
    connect_timeout: float = 10
    read_timeout: float = 120
    version: str | None = None
    user_data_max_length: int = 32768
    timeouts: Timeouts = field(default_factory=Timeouts)

    @property
    def proxies(self) -> dict[str, str] | None:
        """requests-style proxies from ``proxy_*`` (credentials embedded, never logged)."""
        if not self.proxy_host:
            return None
        from urllib.parse import quote

        auth = ""
        if self.proxy_user:
            auth = quote(self.proxy_user, safe="") + ":" + quote(self.proxy_password or "", safe="") + "@"
        url = f"http://{auth}{self.proxy_host}:{self.proxy_port}"
        return {"http": url, "https": url}


@dataclass(frozen=True)
class AgentConfig:
    mbus: str | None = None


@dataclass(frozen=True)
class BlobstoreConfig:
    provider: str | None = None
    path: str | None = None
    address: str | None = None
    port: int | None = None
    agent_user: str | None = None
    agent_password: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def settings(self) -> dict[str, Any] | None:
        """The agent settings' ``blobstore`` object (the release's flat properties → ``{provider, options}``)."""
        if not self.provider:
            return None
        options: dict[str, Any] = {}
        if self.path:
            options["blobstore_path"] = self.path
        if self.address:
            options["endpoint"] = f"http://{self.address}:{self.port or 0}"
        if self.agent_user:
            options["user"] = self.agent_user
        if self.agent_password:
            options["password"] = self.agent_password
        options.update(self.options)
        return {"provider": self.provider, "options": options}


@dataclass(frozen=True)
class RegistryConfig:
    endpoint: str | None = None
    user: str | None = None
    password: str | None = None


@dataclass(frozen=True)
class CpiConfig:
    default_disk_offering: str | None = None
    default_ephemeral_disk_offering: str | None = None
    vm_expunge_delay: float = 0
    vm_create_delay: float = 0
    force_expunge: bool = True
    use_dhcp: bool = False
    anti_affinity_per_instance_group: bool = False
    agent: AgentConfig = field(default_factory=AgentConfig)
    ntp: tuple[str, ...] = ()
    blobstore: BlobstoreConfig = field(default_factory=BlobstoreConfig)
    registry: RegistryConfig = field(default_factory=RegistryConfig)
    debug: bool = False
    stemcell_serve_address: str | None = None
    compute_offering_tags: tuple[str, ...] = ()
    disk_offering_tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    cloudstack: CloudStackConfig
    cpi: CpiConfig = field(default_factory=CpiConfig)
    path: str | None = None

    def with_plugin_defaults(self, defaults: Mapping[str, Any]) -> Config:
        """Fill properties the file left unset from the active plugin's defaults."""
        sections = {"cloudstack": self.cloudstack, "cpi": self.cpi}
        for dotted, value in defaults.items():
            section, _, key = dotted.partition(".")
            current = sections.get(section)
            if current is None or not hasattr(current, key):
                raise ConfigError(f"plugin default names an unknown property '{dotted}'")
            if getattr(current, key) is None:
                sections[section] = replace(current, **{key: value})
        return replace(self, **sections)

    def secrets(self) -> list[str]:
        """Every secret value in the config, for the log redaction filter."""
        values = [
            self.cloudstack.api_key,
            self.cloudstack.secret_access_key,
            self.cloudstack.proxy_password,
            self.cpi.blobstore.agent_password,
            self.cpi.registry.password,
        ]
        values += _url_passwords(self.cpi.agent.mbus, self.cpi.registry.endpoint)
        values += [v for k, v in self.cpi.blobstore.options.items() if isinstance(v, str) and _secret_key(k)]
        return [v for v in values if v]


def _secret_key(key: str) -> bool:
    key = key.lower()
    return any(word in key for word in ("password", "secret", "key", "token", "credential"))


def _url_passwords(*urls: str | None) -> list[str]:
    from urllib.parse import unquote, urlsplit

    found = []
    for url in urls:
        if url and "@" in url:
            try:
                password = urlsplit(url).password
            except ValueError:
                continue
            if password:
                found += [password, unquote(password)]
    return found
