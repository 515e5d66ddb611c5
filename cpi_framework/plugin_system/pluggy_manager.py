"""The pluggy manager that runs hooks, reading the framework's own markers as well as pluggy's.

Imported only by the first hook call of a process (see :mod:`.markers` for why). The markers
record pluggy's options under their own attribute; this manager hands them to pluggy through
its documented extension points, ``parse_hookimpl_opts`` and ``parse_hookspec_opts``, so
pluggy's rules (wrappers, call order, ``specname``, validation) apply unchanged.
"""

from __future__ import annotations

import pluggy

from cpi_framework.plugin_system.markers import IMPL_ATTR, PROJECT, SPEC_ATTR, marker_options, static_hook_attr


class CpiPluginManager(pluggy.PluginManager):
    """``pluggy.PluginManager("cpi_framework")`` that also understands ``cpi_framework.hookimpl``."""

    def __init__(self) -> None:
        super().__init__(PROJECT)

    def parse_hookimpl_opts(self, plugin: object, name: str) -> pluggy.HookimplOpts | None:
        found = static_hook_attr(plugin, name)
        options = marker_options(found[0], IMPL_ATTR) if found else None
        if options is not None:
            return pluggy.HookimplOpts(**options)  # type: ignore[typeddict-item]
        return super().parse_hookimpl_opts(plugin, name)

    def parse_hookspec_opts(self, module_or_class: object, name: str) -> pluggy.HookspecOpts | None:
        found = static_hook_attr(module_or_class, name)
        options = marker_options(found[0], SPEC_ATTR) if found else None
        if options is not None:
            return pluggy.HookspecOpts(**options)  # type: ignore[typeddict-item]
        return super().parse_hookspec_opts(module_or_class, name)
