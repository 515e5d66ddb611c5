"""The CPI config: the file's schema, its loading and the records the rest of the code reads.

Every CPI call imports this package, so it imports nothing itself: names resolve lazily from
the submodule that defines them (like :mod:`cpi_framework`), and a caller pays only for what it
uses (``info`` reads the hypervisor name through :mod:`.light` without marshmallow)::

    from cpi_framework.config import Config, load_config

* :mod:`.model` — the frozen records (:class:`Config` and its sections);
* :mod:`.schema` — the marshmallow schemas, the authority on what a valid config is;
* :mod:`.loader` — reading, parsing, merging and validating a config file;
* :mod:`.properties` — the property table the job spec and docs are generated from;
* :mod:`.light` — the hypervisor name alone, for ``info``;
* :mod:`.deferred_regex` — importing marshmallow without its e-mail regex's compile cost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cpi_framework.config.loader import (
        deep_merge,
        did_you_mean,
        flatten_errors,
        load_config,
        parse_config_text,
        read_config_file,
        suggest_key,
        validate_config,
    )
    from cpi_framework.config.model import (
        AgentConfig,
        BlobstoreConfig,
        CloudStackConfig,
        Config,
        CpiConfig,
        RegistryConfig,
        Timeouts,
    )
    from cpi_framework.config.properties import Property, property_table
    from cpi_framework.config.schema import ConfigSchema

_EXPORTS = {
    "AgentConfig": "model",
    "BlobstoreConfig": "model",
    "CloudStackConfig": "model",
    "Config": "model",
    "CpiConfig": "model",
    "RegistryConfig": "model",
    "Timeouts": "model",
    "ConfigSchema": "schema",
    "deep_merge": "loader",
    "did_you_mean": "loader",
    "flatten_errors": "loader",
    "load_config": "loader",
    "parse_config_text": "loader",
    "read_config_file": "loader",
    "suggest_key": "loader",
    "validate_config": "loader",
    "Property": "properties",
    "property_table": "properties",
}

__all__ = [
    "AgentConfig",
    "BlobstoreConfig",
    "CloudStackConfig",
    "Config",
    "ConfigSchema",
    "CpiConfig",
    "Property",
    "RegistryConfig",
    "Timeouts",
    "deep_merge",
    "did_you_mean",
    "flatten_errors",
    "load_config",
    "parse_config_text",
    "property_table",
    "read_config_file",
    "suggest_key",
    "validate_config",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cpi_framework.config' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"cpi_framework.config.{module}"), name)
