"""The loaded CPI config: immutable records the rest of the code reads.

Built by :mod:`cpi_framework.config.normalise` (for both the marshmallow schemas and the fast
path); nothing outside config loading ever handles the raw dict. Every CPI call defines these
classes, so they are plain :class:`Record` classes rather than frozen dataclasses (seven
dataclass definitions cost ~14 ms of start-up; ``typing.NamedTuple`` ~3 ms; these ~0.2 ms). A
record is built from keywords, compares and hashes by its fields, refuses assignment, and is
copied with changes by ``record._replace(key=value)`` (as a named tuple is).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

from cpi_framework.errors import ConfigError

_NO_OPTIONS: Mapping[str, Any] = MappingProxyType({})


class Record:
    """Fields are the subclass's annotated names, in order; a class value is that field's default.

    Defaults are shared by every instance, so a default that is a container must be immutable.
    """

    _fields: ClassVar[tuple[str, ...]] = ()
    _defaults: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._fields = tuple(cls.__dict__.get("__annotations__", ()))
        cls._defaults = {name: cls.__dict__[name] for name in cls._fields if name in cls.__dict__}

    def __init__(self, **values: Any) -> None:
        unknown = values.keys() - set(self._fields)
        if unknown:
            raise TypeError(f"{type(self).__name__}() got unexpected keyword arguments {sorted(unknown)}")
        for name, default in self._defaults.items():
            values.setdefault(name, default)
        if len(values) != len(self._fields):
            missing = [name for name in self._fields if name not in values]
            raise TypeError(f"{type(self).__name__}() missing keyword arguments {missing}")
        self.__dict__.update(values)

    def _replace(self, **changes: Any) -> Any:
        """A copy with ``changes`` (``dataclasses.replace``, ``NamedTuple._replace``)."""
        return type(self)(**{**self.__dict__, **changes})

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r} of a {type(self).__name__}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r} of a {type(self).__name__}")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return hash(tuple(self.__dict__[name] for name in self._fields))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={self.__dict__[name]!r}" for name in self._fields)
        return f"{type(self).__name__}({shown})"


class Timeouts(Record):
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
        value = getattr(self, operation) if operation in self._fields else None
        return float(value if value is not None else self.default)


class CloudStackConfig(Record):
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
    timeouts: Timeouts = Timeouts()

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


class AgentConfig(Record):
    mbus: str | None = None


class BlobstoreConfig(Record):
    provider: str | None = None
    path: str | None = None
    address: str | None = None
    port: int | None = None
    agent_user: str | None = None
    agent_password: str | None = None
    options: Mapping[str, Any] = _NO_OPTIONS

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


class RegistryConfig(Record):
    endpoint: str | None = None
    user: str | None = None
    password: str | None = None


class CpiConfig(Record):
    default_disk_offering: str | None = None
    default_ephemeral_disk_offering: str | None = None
    vm_expunge_delay: float = 0
    vm_create_delay: float = 0
    force_expunge: bool = True
    use_dhcp: bool = False
    anti_affinity_per_instance_group: bool = False
    agent: AgentConfig = AgentConfig()
    ntp: tuple[str, ...] = ()
    blobstore: BlobstoreConfig = BlobstoreConfig()
    registry: RegistryConfig = RegistryConfig()
    debug: bool = False
    stemcell_serve_address: str | None = None
    compute_offering_tags: tuple[str, ...] = ()
    disk_offering_tags: tuple[str, ...] = ()


class Config(Record):
    cloudstack: CloudStackConfig
    cpi: CpiConfig = CpiConfig()
    path: str | None = None

    def with_plugin_defaults(self, defaults: Mapping[str, Any]) -> Config:
        """Fill properties the file left unset from the active plugin's defaults."""
        sections: dict[str, Any] = {"cloudstack": self.cloudstack, "cpi": self.cpi}
        for dotted, value in defaults.items():
            section, _, key = dotted.partition(".")
            current = sections.get(section)
            if current is None or key not in current._fields:
                raise ConfigError(f"plugin default names an unknown property '{dotted}'")
            if getattr(current, key) is None:
                sections[section] = current._replace(**{key: value})
        return self._replace(**sections)

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
