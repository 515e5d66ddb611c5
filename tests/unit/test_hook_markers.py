"""The framework's own hook markers: pluggy's options without importing pluggy, read by pluggy alike.

The chain is resolved without pluggy (``cpi_hypervisor`` called directly, hook names checked
against the hookspecs); hooks run through pluggy, which must see the same options it would
see with its own markers. Plugins marked with pluggy's own marker keep working.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Generator

import pluggy
import pytest

from cpi_framework import hookimpl as exported_hookimpl
from cpi_framework.errors import PluginError
from cpi_framework.hookspecs import hookimpl
from cpi_framework.plugin_system.host import PluginHost
from cpi_framework.plugin_system.manager import PluginEntry
from cpi_framework.plugin_system.markers import IMPL_ATTR, marked_hooks
from cpi_framework.types import HypervisorSpec, TemplateParams

PARAMS = TemplateParams(format="VHD", file_suffix=".vhd", os_type="Other")


def entry(name: str, plugin: object) -> PluginEntry:
    return PluginEntry(name=name, value="inline", distribution=f"{name}-dist", version="0", module=plugin)


def test_the_marker_records_pluggys_options_and_is_the_exported_one():
    @hookimpl(wrapper=True, tryfirst=True, specname="cpi_template_params")
    def adjust():
        yield

    assert exported_hookimpl is hookimpl
    assert getattr(adjust, IMPL_ATTR) == {"wrapper": True, "hookwrapper": False, "optionalhook": False,
                                          "tryfirst": True, "trylast": False, "specname": "cpi_template_params"}
    from cpi_framework.plugin_system.pluggy_manager import CpiPluginManager

    assert CpiPluginManager().parse_hookimpl_opts(sys.modules[__name__], "PARAMS") is None


def test_importing_the_plugin_api_and_a_plugin_does_not_import_pluggy_or_dataclasses():
    code = ("import sys; import cpi_framework_xen.plugin, cpi_framework.types, cpi_framework.hookspecs; "
            "print(sorted(m for m in ('pluggy', 'dataclasses', 'inspect', 'logging') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_specname_is_respected_when_describing_without_pluggy():
    class Plugin:
        @hookimpl(specname="cpi_hypervisor")
        def describe_me(self):
            return HypervisorSpec(name="spec-named", cloudstack_type="KVM")

    host = PluginHost("spec-named", [entry("spec-named", Plugin())])
    assert host.spec.cloudstack_type == "KVM"
    assert "pm" not in vars(host)  # resolving the chain built no pluggy manager


def test_a_misspelled_specname_fails_loudly_and_an_optional_hook_does_not():
    class Typo:
        @hookimpl
        def cpi_hypervisor(self):
            return HypervisorSpec(name="typo", cloudstack_type="KVM")

        @hookimpl(specname="cpi_user_dat")
        def encode(self, settings):
            return None

    with pytest.raises(PluginError, match="plugin 'typo' implements an unknown hook: unknown hook 'cpi_user_dat'"):
        PluginHost("typo", [entry("typo", Typo())])

    class Optional:
        @hookimpl
        def cpi_hypervisor(self):
            return HypervisorSpec(name="optional", cloudstack_type="KVM")

        @hookimpl(optionalhook=True)
        def cpi_future_hook(self):
            return None

    assert PluginHost("optional", [entry("optional", Optional())]).pm.get_plugins()


def test_plugins_marked_with_pluggys_own_marker_still_work_and_typos_still_fail():
    pluggy_impl = pluggy.HookimplMarker("cpi_framework")

    class Old:
        @pluggy_impl
        def cpi_hypervisor(self):
            return HypervisorSpec(name="old", cloudstack_type="KVM")

        @pluggy_impl
        def cpi_template_params(self):
            return PARAMS

    assert marked_hooks(Old()) is None  # left to pluggy as a whole
    host = PluginHost("old", [entry("old", Old())])
    assert host.spec.name == "old" and host.template_params({}, None) == PARAMS  # type: ignore[arg-type]

    class OldTypo(Old):
        @pluggy_impl
        def cpi_disk_hitn(self, volume):
            return "/dev/x"

    with pytest.raises(PluginError, match="plugin 'old' implements an unknown hook"):
        PluginHost("old", [entry("old", OldTypo())])


def test_wrappers_order_and_wrong_arguments_go_through_pluggy():
    class Base:
        @hookimpl
        def cpi_hypervisor(self):
            return HypervisorSpec(name="base", cloudstack_type="KVM")

        @hookimpl
        def cpi_template_params(self, stemcell):
            return PARAMS

    class Flavour:
        @hookimpl
        def cpi_hypervisor(self):
            return HypervisorSpec(name="flavour", extends="base")

        @hookimpl(wrapper=True)
        def cpi_template_params(self) -> Generator[None, TemplateParams, TemplateParams]:
            params = yield
            return params._replace(requires_hvm=True)

        @hookimpl(trylast=True, specname="cpi_template_params")
        def never_asked(self):
            raise AssertionError("the base answers first")

    host = PluginHost("flavour", [entry("base", Base()), entry("flavour", Flavour())])
    assert host.template_params({}, None) == PARAMS._replace(requires_hvm=True)  # type: ignore[arg-type]

    class WrongArgument(Base):
        @hookimpl
        def cpi_disk_hint(self, volume, disk):
            return "/dev/x"

    host = PluginHost("base", [entry("base", WrongArgument())])  # the chain resolves without pluggy
    with pytest.raises(PluginError, match="plugin 'base' has an invalid hook implementation: .*disk"):
        host.disk_hint({}, {}, "system")


def test_records_are_immutable_keyword_built_and_compare_by_value():
    spec = HypervisorSpec(name="x", cloudstack_type="KVM")
    assert spec == HypervisorSpec(name="x", cloudstack_type="KVM") != HypervisorSpec(name="y")
    assert spec.defaults == {} and spec.stemcell_formats == ()
    with pytest.raises(AttributeError):
        spec.name = "y"  # type: ignore[misc]
    with pytest.raises(TypeError):
        spec.defaults["k"] = "v"  # type: ignore[index]  # the shared default is read-only
    assert "cloudstack_type='KVM'" in repr(spec)
