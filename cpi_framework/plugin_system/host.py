"""The core's view of the active plugin chain: typed calls to each hook, errors naming the plugin.

``methods/`` never touches pluggy directly; it calls these methods, which check what the
plugins answered (a first-result hook nobody answers is a plugin bug, reported as such).
The chain is resolved without pluggy; the pluggy manager is built on the first hook call, so a
call that runs no hook (``info``, ``has_vm``) never imports it.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from typing import TYPE_CHECKING, Any

from cpi_framework.errors import BoshError, PluginError
from cpi_framework.plugin_system.manager import (
    LoadedPlugin,
    PluginEntry,
    build_manager,
    current_exception_plugin,
    discover,
    resolve_chain,
)
from cpi_framework.types import HypervisorSpec, TemplateParams, UserData

if TYPE_CHECKING:
    import pluggy

    from cpi_framework.config import Config
    from cpi_framework.types import DiskHint, DiskRole


class PluginHost:
    """The selected hypervisor plugin and the chain it extends, ready to answer hooks."""

    def __init__(self, name: str, extra: Iterable[PluginEntry] = ()) -> None:
        self.installed = discover(extra)
        self.chain: list[LoadedPlugin] = resolve_chain(name, self.installed)

    @cached_property
    def pm(self) -> pluggy.PluginManager:
        """The pluggy manager with the chain registered, base first: built by the first hook call."""
        return build_manager(self.chain)

    @property
    def spec(self) -> HypervisorSpec:
        """The active plugin's description (the last of the chain)."""
        return self.chain[-1].spec

    @cached_property
    def cloudstack_type(self) -> str:
        """CloudStack's hypervisor type, inherited along the chain when a flavour does not set it."""
        for loaded in reversed(self.chain):
            if loaded.spec.cloudstack_type:
                return loaded.spec.cloudstack_type
        raise PluginError(f"plugin '{self.spec.name}' names no CloudStack hypervisor type")

    @cached_property
    def stemcell_formats(self) -> tuple[str, ...]:
        for loaded in reversed(self.chain):
            if loaded.spec.stemcell_formats:
                return loaded.spec.stemcell_formats
        return ()

    @cached_property
    def defaults(self) -> dict[str, Any]:
        """Config defaults from the chain; a flavour's override its base's."""
        merged: dict[str, Any] = {}
        for loaded in self.chain:
            merged.update(loaded.spec.defaults)
        return merged

    # -- hook calls -------------------------------------------------------------------------

    def _call(self, hook: str, **kwargs: Any) -> Any:
        caller = getattr(self.pm.hook, hook)  # outside the try: an invalid plugin is reported as such
        try:
            return caller(**kwargs)
        except BoshError:
            raise  # a plugin may deliberately raise a typed BOSH error (e.g. NotSupported)
        except Exception as exc:
            culprit = current_exception_plugin(self.chain)
            who = (
                f"plugin '{culprit.spec.name}' ({culprit.entry.distribution})"
                if culprit
                else f"a plugin of the '{self.spec.name}' chain"
            )
            raise PluginError(f"{who} failed in {hook}: {type(exc).__name__}: {exc}") from exc

    def _call_in_order(self, hook: str, **kwargs: Any) -> list[Any]:
        """Call every implementation base first, so a flavour has the last word.

        pluggy calls the last-registered plugin first; for the hooks that adjust a document
        (settings, deploy parameters, schema fields) the contract is the opposite order, as a
        flavour refines its base. Wrappers make no sense for these hooks and are refused.
        """
        results = []
        for impl in getattr(self.pm.hook, hook).get_hookimpls():  # registration order: base first
            if impl.hookwrapper or impl.wrapper:
                raise PluginError(f"plugin '{impl.plugin_name}' may not wrap {hook}: every plugin adjusts in turn")
            results.append(self._call_one(hook, impl, kwargs))
        return [r for r in results if r is not None]

    def _call_one(self, hook: str, impl: Any, kwargs: dict[str, Any]) -> Any:
        try:
            return impl.function(*(kwargs[name] for name in impl.argnames))
        except BoshError:
            raise
        except Exception as exc:
            loaded = next((p for p in self.chain if p.plugin is impl.plugin), None)
            dist = f" ({loaded.entry.distribution})" if loaded else ""
            message = f"plugin '{impl.plugin_name}'{dist} failed in {hook}: {type(exc).__name__}: {exc}"
            raise PluginError(message) from exc

    def _required(self, hook: str, result: Any, expected: type | tuple[type, ...]) -> Any:
        if result is None:
            raise PluginError(f"plugin '{self.spec.name}' does not answer {hook}")
        if not isinstance(result, expected):
            raise PluginError(f"plugin '{self.spec.name}' answered {hook} with {type(result).__name__}")
        return result

    def template_params(self, stemcell: dict[str, Any], config: Config) -> TemplateParams:
        result = self._call("cpi_template_params", stemcell=stemcell, config=config)
        return self._required("cpi_template_params", result, TemplateParams)

    def disk_hint(self, volume: dict[str, Any], vm: dict[str, Any], role: DiskRole) -> DiskHint:
        hint = self._required(
            "cpi_disk_hint", self._call("cpi_disk_hint", volume=volume, vm=vm, role=role), (str, dict)
        )
        if not hint or (isinstance(hint, dict) and not all(isinstance(v, str) for v in hint.values())):
            raise PluginError(f"plugin '{self.spec.name}' gave an empty or non-string disk hint: {hint!r}")
        if role == "system" and not isinstance(hint, str):
            raise PluginError(f"plugin '{self.spec.name}' must give the system disk hint as a string")
        return hint

    def agent_settings(self, settings: dict[str, Any], vm: dict[str, Any], context: dict[str, Any]) -> dict:
        self._call_in_order("cpi_agent_settings", settings=settings, vm=vm, context=context)
        return settings

    def user_data(self, settings: dict[str, Any], vm: dict[str, Any]) -> UserData:
        result = self._call("cpi_user_data", settings=settings, vm=vm)
        return self._required("cpi_user_data", result, UserData)

    def deploy_params(self, params: dict[str, Any], vm_type: dict[str, Any]) -> dict[str, Any]:
        self._call_in_order("cpi_deploy_params", params=params, vm_type=vm_type)
        return params

    def vm_type_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for extra in self._call_in_order("cpi_vm_type_schema"):
            fields.update(extra or {})
        return fields

    def guest_warnings(self, os_type: str, userdata_providers: list[str]) -> list[tuple[str, str]]:
        """Every plugin's ``(message, fix)`` warnings about the guest, base first (``check``)."""
        found: list[tuple[str, str]] = []
        for result in self._call_in_order("cpi_guest_warnings", os_type=os_type,
                                          userdata_providers=list(userdata_providers)):
            for item in result or []:
                message, fix = item
                found.append((str(message), str(fix)))
        return found

    def attach_error_is_transient(self, error: Exception) -> bool:
        return bool(self._call("cpi_attach_error_is_transient", error=error))

    def implemented_hooks(self, loaded: LoadedPlugin) -> list[str]:
        """Hook names a plugin of the chain implements (for ``cloudstack-cpi plugins``)."""
        return sorted(
            name
            for name, caller in vars(self.pm.hook).items()
            if not name.startswith("_")
            and any(impl.plugin is loaded.plugin for impl in caller.get_hookimpls())
        )
