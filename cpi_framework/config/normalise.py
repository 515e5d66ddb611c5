"""From a validated section's values to its record: the one implementation both loaders call.

Each ``build_*`` takes one section's values after validation, with every property present
(defaults filled, nested sections already built), and returns the record of
:mod:`cpi_framework.config.model`. The marshmallow schemas call them from ``post_load``, the
fast path (:mod:`cpi_framework.config.fast`) calls them in the same order, so the two cannot
build different configs from the same file. The schema names each section's builder
(``build = ...``), and the generated table (:mod:`cpi_framework.config.table`) records it.
The functions may consume ``data``: callers hand over a dict they own.
"""

from __future__ import annotations

from typing import Any

from cpi_framework.config.model import (
    AgentConfig,
    BlobstoreConfig,
    CloudStackConfig,
    Config,
    CpiConfig,
    RegistryConfig,
    Timeouts,
)

LEGACY_DEFAULT_TIMEOUT = 1200
"""``timeouts.default``'s default: the Java CPI's ``state_timeout`` applies only while it is unchanged."""


def build_timeouts(data: dict[str, Any]) -> Timeouts:
    return Timeouts(**data)


def build_cloudstack(data: dict[str, Any]) -> CloudStackConfig:
    """The Java CloudStack CPI's names map onto ours; ``private_key`` is accepted and dropped."""
    data.pop("private_key", None)
    timeouts: Timeouts = data.pop("timeouts")
    legacy_default, legacy_volume = data.pop("state_timeout"), data.pop("state_timeout_volume")
    if legacy_default is not None and timeouts.default == LEGACY_DEFAULT_TIMEOUT:
        timeouts = timeouts._replace(default=legacy_default)
    if legacy_volume is not None and timeouts.volume is None:
        timeouts = timeouts._replace(volume=legacy_volume)
    if data.get("proxy_host") == "":
        data["proxy_host"] = None
    data["stemcell_zones"] = tuple(data["stemcell_zones"])
    return CloudStackConfig(timeouts=timeouts, **data)


def build_agent(data: dict[str, Any]) -> AgentConfig:
    return AgentConfig(**data)


def build_blobstore(data: dict[str, Any]) -> BlobstoreConfig:
    """The release's ``blobstore.agent.{user,password}`` become flat ``agent_*`` fields."""
    agent = data.pop("agent")
    return BlobstoreConfig(agent_user=agent.get("user"), agent_password=agent.get("password"), **data)


def build_registry(data: dict[str, Any]) -> RegistryConfig:
    return RegistryConfig(**data)


def build_cpi(data: dict[str, Any]) -> CpiConfig:
    """``calculate_vm_cloud_properties.{compute,disk}.tags`` become tuples of offering tags."""
    calc = data.pop("calculate_vm_cloud_properties")
    data["ntp"] = tuple(data["ntp"])
    return CpiConfig(
        compute_offering_tags=split_tags(calc["compute"]["tags"]),
        disk_offering_tags=split_tags(calc["disk"]["tags"]),
        **data,
    )


def build_config(data: dict[str, Any]) -> Config:
    return Config(**data)


def split_tags(tags: str | None) -> tuple[str, ...]:
    """``"ssd, fast,"`` → ``("ssd", "fast")``."""
    return tuple(t.strip() for t in (tags or "").split(",") if t.strip())
