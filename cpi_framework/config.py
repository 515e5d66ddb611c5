"""The CPI config file: marshmallow schemas loading into frozen dataclasses.

The file's tree is the release job's property tree (``cpi.json.erb`` dumps the job
properties), so these schemas are also the job spec: :func:`property_table` lists every
property with its default and description, and the release test checks the spec against it.
Seed property names are kept; keys of the seed's Java daemon are not accepted. Unknown keys
fail naming the key and the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, missing, post_load, validate

from cpi_framework.errors import ConfigError

MINUTE = 60


def _f(field_cls: type[fields.Field], description: str, *, secret: bool = False, **kw: Any) -> fields.Field:
    return field_cls(metadata={"description": description, "secret": secret}, **kw)


def _nested(schema: type[Schema], description: str) -> fields.Nested:
    return fields.Nested(schema, load_default=lambda: schema().load({}), metadata={"description": description})


# -- dataclasses -------------------------------------------------------------------------------


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
    stemcell_os_type: str | None = None
    stemcell_requires_hvm: bool | None = None
    stemcell_public_visibility: bool = False
    stemcell_publish_timeout: float = 30
    stemcell_upload_mode: str = "direct"
    stemcell_url_base: str | None = None
    stemcell_zones: tuple[str, ...] = ()
    proxy_host: str | None = None
    proxy_port: int = 8080
    proxy_user: str | None = None
    proxy_password: str | None = None
    connect_timeout: float = 10
    read_timeout: float = 120
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
        """The agent settings' ``blobstore`` object (seed form → ``{provider, options}``)."""
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


# -- schemas -----------------------------------------------------------------------------------


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class TimeoutsSchema(_Strict):
    default = _f(fields.Float, "Default deadline (seconds) for any CloudStack async job or wait",
                 load_default=1200, validate=validate.Range(min=1))
    create_vm = _f(fields.Float, "Deadline for deploying and starting a VM", load_default=None)
    delete_vm = _f(fields.Float, "Deadline for stopping and destroying a VM", load_default=None)
    reboot_vm = _f(fields.Float, "Deadline for rebooting a VM", load_default=None)
    attach_volume = _f(fields.Float, "Deadline for attaching a volume (incl. transient-error retries)",
                       load_default=None)
    detach_volume = _f(fields.Float, "Deadline for detaching a volume", load_default=None)
    volume = _f(fields.Float, "Deadline for creating, resizing and deleting volumes", load_default=None)
    snapshot = _f(fields.Float, "Deadline for creating and deleting snapshots", load_default=None)
    template = _f(fields.Float, "Deadline for template registration jobs", load_default=None)

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Timeouts:
        return Timeouts(**data)


class CloudStackSchema(_Strict):
    endpoint = _f(fields.Url, "CloudStack API endpoint, e.g. https://cloud.example.com/client/api",
                  required=True, schemes={"http", "https"}, require_tld=False)
    api_key = _f(fields.String, "API key of the CloudStack account", required=True, secret=True,
                 validate=validate.Length(min=1))
    secret_access_key = _f(fields.String, "Secret key of the CloudStack account", required=True, secret=True,
                           validate=validate.Length(min=1))
    default_zone = _f(fields.String, "Zone name used when an AZ sets no 'zone' cloud property", required=True,
                      validate=validate.Length(min=1))
    hypervisor = _f(fields.String, "Hypervisor plugin: xen | kvm | vmware | a third-party plugin name",
                    load_default="xen")
    default_key_name = _f(fields.String, "SSH key pair name given to every VM (must exist)", load_default=None)
    ca_cert = _f(fields.String, "PEM CA certificate(s) to verify the endpoint (TLS is always verified)",
                 load_default=None)
    private_key = _f(fields.String, "Unused (accepted for seed manifests)", load_default=None, secret=True)
    state_timeout = _f(fields.Float, "Seed name for timeouts.default (seconds)", load_default=None)
    state_timeout_volume = _f(fields.Float, "Seed name for timeouts.volume (seconds)", load_default=None)
    stemcell_os_type = _f(fields.String, "OS type description for templates (plugin default, xen: Other PV "
                          "(64-bit))", load_default=None)
    stemcell_requires_hvm = _f(fields.Boolean, "Register templates with requireshvm (plugin default)",
                               load_default=None)
    stemcell_public_visibility = _f(fields.Boolean, "Make uploaded templates public", load_default=False)
    stemcell_publish_timeout = _f(fields.Float, "Minutes to wait for a template to become ready",
                                  load_default=30, validate=validate.Range(min=0, min_inclusive=False))
    stemcell_upload_mode = _f(fields.String, "direct (getUploadParamsForTemplate + POST) | url (registerTemplate)",
                              load_default="direct", validate=validate.OneOf(["direct", "url"]))
    stemcell_url_base = _f(fields.String, "url mode: base URL under which the operator serves stemcell images",
                           load_default=None)
    stemcell_zones = _f(fields.List, "Extra zone names to register each stemcell in", load_default=list,
                        cls_or_instance=fields.String())
    proxy_host = _f(fields.String, "HTTP proxy host for API calls; none if empty", load_default=None)
    proxy_port = _f(fields.Integer, "HTTP proxy port", load_default=8080, validate=validate.Range(1, 65535))
    proxy_user = _f(fields.String, "HTTP proxy user", load_default=None)
    proxy_password = _f(fields.String, "HTTP proxy password", load_default=None, secret=True)
    connect_timeout = _f(fields.Float, "Seconds to establish a connection to the API", load_default=10)
    read_timeout = _f(fields.Float, "Seconds to wait for one API response", load_default=120)
    timeouts = _nested(TimeoutsSchema, "Per-operation deadlines in seconds")

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> CloudStackConfig:
        data.pop("private_key", None)
        timeouts: Timeouts = data.pop("timeouts")
        legacy_default, legacy_volume = data.pop("state_timeout"), data.pop("state_timeout_volume")
        if legacy_default is not None and timeouts.default == 1200:
            timeouts = replace(timeouts, default=legacy_default)
        if legacy_volume is not None and timeouts.volume is None:
            timeouts = replace(timeouts, volume=legacy_volume)
        if data.get("proxy_host") == "":
            data["proxy_host"] = None
        data["stemcell_zones"] = tuple(data["stemcell_zones"])
        return CloudStackConfig(timeouts=timeouts, **data)


class AgentSchema(_Strict):
    mbus = _f(fields.String, "Message bus URL written into agent settings (nats://user:pass@host:4222)",
              load_default=None, secret=True)

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> AgentConfig:
        return AgentConfig(**data)


class BlobstoreAgentSchema(_Strict):
    user = _f(fields.String, "Blobstore user for agents", load_default=None)
    password = _f(fields.String, "Blobstore password for agents", load_default=None, secret=True)


class BlobstoreSchema(_Strict):
    provider = _f(fields.String, "Blobstore provider written into agent settings (local, dav, s3, gcs…)",
                  load_default=None)
    path = _f(fields.String, "local provider: blobstore path", load_default=None)
    address = _f(fields.String, "dav provider: blobstore address", load_default=None)
    port = _f(fields.Integer, "dav provider: blobstore port", load_default=None)
    agent = _nested(BlobstoreAgentSchema, "Credentials agents use for the blobstore")
    options = _f(fields.Dict, "Extra provider options passed through to agent settings", load_default=dict,
                 secret=True)

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> BlobstoreConfig:
        agent = data.pop("agent")
        return BlobstoreConfig(agent_user=agent.get("user"), agent_password=agent.get("password"), **data)


class RegistrySchema(_Strict):
    endpoint = _f(fields.String, "BOSH registry URL (API v1 with stemcells older than api_version 2 only)",
                  load_default=None)
    user = _f(fields.String, "Registry user", load_default=None)
    password = _f(fields.String, "Registry password", load_default=None, secret=True)

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> RegistryConfig:
        return RegistryConfig(**data)


class OfferingTagsSchema(_Strict):
    tags = _f(fields.String, "Comma-separated offering tags calculate_vm_cloud_properties requires",
              load_default=None)


class CalculateSchema(_Strict):
    compute = _nested(OfferingTagsSchema, "Compute offering filter")
    disk = _nested(OfferingTagsSchema, "Disk offering filter")


class CpiSchema(_Strict):
    default_disk_offering = _f(fields.String, "Disk offering for persistent disks without disk_offering",
                               load_default=None)
    default_ephemeral_disk_offering = _f(fields.String, "Disk offering for ephemeral disks without "
                                         "ephemeral_disk_offering", load_default=None)
    vm_expunge_delay = _f(fields.Float, "Seconds to wait after destroying a VM when it cannot be expunged at once",
                          load_default=0, validate=validate.Range(min=0))
    vm_create_delay = _f(fields.Float, "Seconds to wait after a VM starts (seed: time for xentools)",
                         load_default=0, validate=validate.Range(min=0))
    force_expunge = _f(fields.Boolean, "Destroy VMs with expunge=true so their IPs are free at once",
                       load_default=True)
    use_dhcp = _f(fields.Boolean, "Tell agents to configure every network by DHCP", load_default=False)
    anti_affinity_per_instance_group = _f(fields.Boolean, "Put each instance group's VMs in a host "
                                          "anti-affinity group", load_default=False)
    agent = _nested(AgentSchema, "What goes into agent settings")
    ntp = _f(fields.List, "NTP servers for agent settings", cls_or_instance=fields.String(), load_default=list)
    blobstore = _nested(BlobstoreSchema, "Blobstore for agent settings")
    registry = _nested(RegistrySchema, "Legacy BOSH registry")
    debug = _f(fields.Boolean, "Log each CloudStack request (redacted)", load_default=False)
    stemcell_serve_address = _f(fields.String, "url mode: host:port the CPI serves the image on while "
                                "CloudStack downloads it", load_default=None)
    calculate_vm_cloud_properties = _nested(CalculateSchema, "Offering filters for calculate_vm_cloud_properties")

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> CpiConfig:
        calc = data.pop("calculate_vm_cloud_properties")
        data["ntp"] = tuple(data["ntp"])
        return CpiConfig(
            compute_offering_tags=_split(calc["compute"]["tags"]),
            disk_offering_tags=_split(calc["disk"]["tags"]),
            **data,
        )


def _split(tags: str | None) -> tuple[str, ...]:
    return tuple(t.strip() for t in (tags or "").split(",") if t.strip())


class ConfigSchema(_Strict):
    cloudstack = fields.Nested(CloudStackSchema, required=True, metadata={"description": "CloudStack access"})
    cpi = _nested(CpiSchema, "CPI behaviour and agent settings")

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Config:
        return Config(**data)


# -- loading -----------------------------------------------------------------------------------


def load_config(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Config:
    """Read, merge director context overrides into, and validate a config file.

    :raises ConfigError: naming the file and every offending key.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}", path=str(path)) from exc
    raw = parse_config_text(text, str(path))
    where = str(path)
    if overrides:
        raw = deep_merge(raw, overrides)
        where = f"{path} (with the director context's overrides)"
    return validate_config(raw, where)


def parse_config_text(text: str, where: str) -> dict[str, Any]:
    """JSON, or YAML when it is not JSON (YAML is imported only then)."""
    try:
        raw = json.loads(text)
    except ValueError:
        import yaml

        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {where} is neither valid JSON nor YAML: {exc}", path=where) from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {where} must hold a mapping at the top level", path=where)
    return raw


def validate_config(raw: Mapping[str, Any], where: str) -> Config:
    try:
        config: Config = ConfigSchema().load(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{key}: {msg}" for key, msg in flatten_errors(exc.messages))
        raise ConfigError(f"invalid config file {where}: {problems}", path=where, messages=exc.messages) from None
    return replace(config, path=where)


def flatten_errors(messages: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """marshmallow's nested message dict as ``("cloudstack.endpoint", "Missing data…")`` pairs."""
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            dotted = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                dotted = prefix or "(top level)"
            yield from flatten_errors(value, dotted)
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        text = " ".join(messages)
        if text == "Unknown field.":
            text = "unknown key"
        elif text == "Missing data for required field.":
            text = "missing required key"
        yield prefix, text
    elif isinstance(messages, list):
        for index, value in enumerate(messages):
            yield from flatten_errors(value, f"{prefix}[{index}]")
    else:
        yield prefix, str(messages)


def deep_merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@dataclass(frozen=True)
class Property:
    """One job property: dotted name, default (``REQUIRED`` when required), description, secrecy."""

    name: str
    default: Any
    description: str
    secret: bool
    required: bool


def property_table() -> list[Property]:
    """Every config property in schema order: the single source for the job spec and the docs."""
    return list(_walk(ConfigSchema(), ""))


def _walk(schema: Schema, prefix: str) -> Iterator[Property]:
    for name, fld in schema.fields.items():
        dotted = f"{prefix}{name}"
        if isinstance(fld, fields.Nested):
            yield from _walk(fld.schema, dotted + ".")
            continue
        default = fld.load_default
        if callable(default):
            default = default()
        if default is missing:
            default = None
        yield Property(
            name=dotted,
            default=None if fld.required else default,
            description=fld.metadata.get("description", ""),
            secret=bool(fld.metadata.get("secret")),
            required=bool(fld.required),
        )
