"""Plugin discovery and selection: one active hypervisor plugin plus the chain it extends.

Follows conda's and tox's managers: hookspecs first, blocked names from the environment,
entry points, and a misspelled hook name fails loudly. Unlike them it registers only the
selected chain, so first-result hooks are never answered by a plugin the operator did not choose.

Resolving the chain needs no pluggy: each plugin's ``cpi_hypervisor`` is called directly and
every marked hook's name is checked against the hookspecs (:mod:`.markers`), on every call.
The pluggy manager (:func:`build_manager`) is built only when a hook is first run; a plugin
marked with pluggy's own ``HookimplMarker`` is described through pluggy, as before.
"""

# No ``from __future__ import annotations`` here: typing.NamedTuple compiles every field's annotation
# string (~3 ms a process for the records on the path of every call); real annotations cost nothing.

import os
import sys
from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple

from cpi_framework import hookspecs
from cpi_framework.errors import PluginError
from cpi_framework.plugin_system import entry_point_scan
from cpi_framework.plugin_system.markers import MarkedHook, marked_hooks, spec_names
from cpi_framework.types import HypervisorSpec

if TYPE_CHECKING:
    import pluggy

DISABLED_ENV = "CPI_FRAMEWORK_DISABLED_PLUGINS"
"""Comma-separated plugin names never to load (tox's ``TOX_DISABLED_EXTERNAL_PLUGINS``)."""
ONLY_SHIPPED_ENV = "CPI_FRAMEWORK_ONLY_SHIPPED_PLUGINS"
"""When set to 1/true, load only the plugins shipped with the framework (third-party ones are ignored)."""
SHIPPED_DISTRIBUTIONS = frozenset({"cpi-framework-xen", "cpi-framework-kvm", "cpi-framework-vmware"})


class PluginEntry(NamedTuple):
    """An installed plugin as its entry point declares it (not yet imported)."""

    name: str
    value: str
    distribution: str
    version: str
    module: Any = None  # set for in-process registrations (tests, embedding)

    def load(self) -> Any:
        if self.module is not None:
            return self.module
        try:
            return entry_point_scan.load(self.value)
        except Exception as exc:  # an import error in a plugin must name the plugin
            raise PluginError(
                f"plugin '{self.name}' from {self.distribution} {self.version} failed to load "
                f"({self.value}): {type(exc).__name__}: {exc}"
            ) from exc


def _normalise(name: str) -> str:
    return name.lower().replace("_", "-")


def discover(extra: Iterable[PluginEntry] = ()) -> dict[str, PluginEntry]:
    """Installed plugins by name; two distributions claiming one name is an error naming both."""
    disabled = {n.strip() for n in os.environ.get(DISABLED_ENV, "").split(",") if n.strip()}
    only_shipped = os.environ.get(ONLY_SHIPPED_ENV, "").lower() in {"1", "true", "yes"}
    found: dict[str, PluginEntry] = {}
    candidates = [PluginEntry(ep.name, ep.value, ep.distribution, ep.version)
                  for ep in entry_point_scan.entry_points(hookspecs.NAME)] + list(extra)
    for entry in candidates:
        if entry.name in disabled:
            continue
        if only_shipped and entry.module is None and _normalise(entry.distribution) not in SHIPPED_DISTRIBUTIONS:
            continue
        other = found.get(entry.name)
        if other is not None and (other.distribution, other.value) != (entry.distribution, entry.value):
            raise PluginError(
                f"two plugins are named '{entry.name}': {other.distribution} {other.version} ({other.value}) "
                f"and {entry.distribution} {entry.version} ({entry.value}); uninstall one, or disable one "
                f"with {DISABLED_ENV}"
            )
        found[entry.name] = entry
    return found


def describe(plugin: Any, name: str) -> HypervisorSpec:
    """Ask one plugin object for its HypervisorSpec without registering it anywhere else.

    :raises PluginError: when the plugin implements a hook the hookspecs do not declare, or
        does not describe itself as ``name`` with exactly one HypervisorSpec.
    """
    marked = marked_hooks(plugin)
    own = [hook for hook in marked or () if hook.hook == "cpi_hypervisor"]
    if marked is None or any(hook.options["wrapper"] or hook.options["hookwrapper"] for hook in own):
        results = _describe_with_pluggy(plugin, name)
    else:
        _check_hook_names(plugin, name, marked)
        results = [result for result in (hook.function() for hook in own) if result is not None]
    if len(results) != 1 or not isinstance(results[0], HypervisorSpec):
        raise PluginError(f"plugin '{name}' must implement cpi_hypervisor() returning one HypervisorSpec")
    spec = results[0]
    if spec.name != name:
        raise PluginError(f"plugin registered as '{name}' describes itself as '{spec.name}'")
    return spec


_HOOK_NAMES = spec_names(hookspecs)


def _check_hook_names(plugin: Any, name: str, marked: list[MarkedHook]) -> None:
    """pluggy's ``check_pending`` for one plugin: a marked hook the hookspecs lack is an error."""
    for hook in marked:
        if hook.hook not in _HOOK_NAMES and not hook.options["optionalhook"]:
            raise PluginError(f"plugin '{name}' implements an unknown hook: "
                              f"unknown hook '{hook.hook}' in plugin {plugin!r}")


def _describe_with_pluggy(plugin: Any, name: str) -> list[Any]:
    """``cpi_hypervisor`` results through pluggy, for a plugin marked with pluggy's own marker."""
    pm = build_manager([], pending_check=False)
    _register(pm, plugin, name)
    _check_pending(pm)
    return pm.hook.cpi_hypervisor()


class LoadedPlugin(NamedTuple):
    entry: PluginEntry
    plugin: Any
    spec: HypervisorSpec


def resolve_chain(name: str, installed: dict[str, PluginEntry]) -> list[LoadedPlugin]:
    """The selected plugin and the plugins it extends, base first; cycles and gaps are errors."""
    chain: list[LoadedPlugin] = []
    seen: set[str] = set()
    current: str | None = name
    while current is not None:
        if current in seen:
            raise PluginError(f"plugin '{name}' has an 'extends' cycle through '{current}'")
        seen.add(current)
        entry = installed.get(current)
        if entry is None:
            choices = ", ".join(sorted(installed)) or "none"
            if current == name:
                raise PluginError(
                    f"unknown cloudstack.hypervisor '{name}': installed plugins are {choices}"
                )
            raise PluginError(f"plugin '{chain[-1].spec.name}' extends '{current}', which is not installed")
        plugin = entry.load()
        spec = describe(plugin, current)
        chain.append(LoadedPlugin(entry, plugin, spec))
        current = spec.extends
    chain.reverse()
    return chain


def build_manager(chain: list[LoadedPlugin], *, pending_check: bool = True) -> "pluggy.PluginManager":
    """A pluggy manager with exactly the chain registered, base first (imports pluggy)."""
    from cpi_framework.plugin_system.pluggy_manager import CpiPluginManager

    pm = CpiPluginManager()
    pm.add_hookspecs(hookspecs)
    for loaded in chain:
        _register(pm, loaded.plugin, loaded.spec.name)
    if pending_check:
        _check_pending(pm)
    return pm


def _register(pm: "pluggy.PluginManager", plugin: Any, name: str) -> None:
    import pluggy

    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:  # a wrong argument name, a wrapper that is no generator...
        raise PluginError(f"plugin '{name}' has an invalid hook implementation: {exc}") from exc


def _check_pending(pm: "pluggy.PluginManager") -> None:
    import pluggy

    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        name = pm.get_name(exc.plugin) or "?"
        raise PluginError(f"plugin '{name}' implements an unknown hook: {exc}") from exc


def plugin_of_traceback(tb: TracebackType | None, chain: list[LoadedPlugin]) -> LoadedPlugin | None:
    """The innermost plugin whose code is on the traceback, to name it in an error."""
    modules = {}
    for loaded in chain:
        module = getattr(loaded.plugin, "__name__", None) or type(loaded.plugin).__module__
        modules[module.split(".")[0]] = loaded
    culprit = None
    while tb is not None:
        top = tb.tb_frame.f_globals.get("__name__", "").split(".")[0]
        culprit = modules.get(top, culprit)
        tb = tb.tb_next
    return culprit


def current_exception_plugin(chain: list[LoadedPlugin]) -> LoadedPlugin | None:
    return plugin_of_traceback(sys.exc_info()[2], chain)
