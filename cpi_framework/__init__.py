"""BOSH CPI for Apache CloudStack, built as a plugin-based multi-hypervisor framework.

The public API for plugin authors is re-exported here and resolved lazily, so that
``import cpi_framework`` (which every CPI call does) costs nothing extra::

    from cpi_framework import hookimpl, HypervisorSpec, TemplateParams, UserData
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "hookimpl": "cpi_framework.hookspecs",
    "HypervisorSpec": "cpi_framework.types",
    "TemplateParams": "cpi_framework.types",
    "UserData": "cpi_framework.types",
    "PluginError": "cpi_framework.errors",
    "CloudError": "cpi_framework.errors",
    "NotSupported": "cpi_framework.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cpi_framework' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
