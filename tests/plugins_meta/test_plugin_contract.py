"""Meta-tests of the plugin contract (datasette style): every hookspec is documented in
docs/plugin-hooks.md with its exact signature and has an outcome test; discovery through fake
distributions; the errors operators meet (duplicate names, unknown plugin, a raising hook)
name the plugin, through the real CPI process."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest
import test_hook_outcomes
from marshmallow import fields
from meta_dists import BROKEN_DIST, DUP_DIST, HOOKS_DIST

from cpi_framework import hookspecs
from cpi_framework.hookspecs import hookimpl
from cpi_framework.plugin_system.host import PluginHost
from cpi_framework.plugin_system.manager import PluginEntry, discover
from cpi_framework.plugin_system.markers import spec_names
from cpi_framework.testing import make_cpi_config
from cpi_framework.types import HypervisorSpec

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugin-hooks.md"


def hookspec_signatures() -> dict[str, str]:
    """``{"cpi_disk_hint": "cpi_disk_hint(volume, vm, role)", ...}`` from the hookspecs module."""
    specs = {}
    for name in spec_names(hookspecs):  # the functions the hookspec marker marked
        specs[name] = f"{name}({', '.join(inspect.signature(getattr(hookspecs, name)).parameters)})"
    return specs


def test_the_hookspecs_are_the_designed_set() -> None:
    assert set(hookspec_signatures()) == {
        "cpi_hypervisor", "cpi_template_params", "cpi_disk_hint", "cpi_agent_settings", "cpi_user_data",
        "cpi_deploy_params", "cpi_vm_type_schema", "cpi_attach_error_is_transient", "cpi_guest_warnings",
    }


@pytest.mark.parametrize("hook", sorted(hookspec_signatures()))
def test_every_hook_is_documented_with_its_signature(hook: str) -> None:
    headings = re.findall(r"^#{2,3} `?([a-z_]+\([a-z_, ]*\))`?\s*$", DOCS.read_text(), flags=re.MULTILINE)
    expected = hookspec_signatures()[hook]
    assert expected in headings, f"docs/plugin-hooks.md lacks a heading '{expected}'"


@pytest.mark.parametrize("hook", sorted(hookspec_signatures()))
def test_every_hook_has_an_outcome_test(hook: str) -> None:
    test = getattr(test_hook_outcomes, f"test_hook_{hook}", None)
    assert callable(test), f"tests/plugins_meta/test_hook_outcomes.py lacks test_hook_{hook}"


@pytest.mark.parametrize("hook", sorted(hookspec_signatures()))
def test_every_hook_docstring_has_an_example(hook: str) -> None:
    assert "**Example**" in (getattr(hookspecs, hook).__doc__ or "")


def test_fake_distribution_is_discovered_and_selected(with_dists: Any) -> None:
    with_dists(HOOKS_DIST)
    installed = discover()
    entry = installed["meta-disk-hint"]
    assert (entry.distribution, entry.version, entry.value) == ("cpi-meta-hooks", "0.1", "cpi_meta_hooks.disk_hint")
    host = PluginHost("meta-disk-hint")
    assert [loaded.spec.name for loaded in host.chain] == ["xen", "meta-disk-hint"]
    assert host.implemented_hooks(host.chain[1]) == ["cpi_disk_hint", "cpi_hypervisor"]


def test_two_plugins_claiming_one_name_through_the_cpi(cpi: Any, simulator: Any, tmp_path: Path,
                                                       with_dists: Any) -> None:
    with_dists(HOOKS_DIST, DUP_DIST)
    response = cpi("info", config=make_cpi_config(simulator, "xen", tmp_path))
    assert response.error is not None
    message = response.error["message"]
    assert "meta-hypervisor" in message and "cpi-meta-hooks" in message and "cpi-meta-dup" in message


def test_unknown_hypervisor_through_the_cpi(cpi: Any, simulator: Any, tmp_path: Path) -> None:
    response = cpi("create_disk", 1024, {}, None, config=make_cpi_config(simulator, "hyperv", tmp_path))
    assert response.error is not None and response.error["ok_to_retry"] is False
    assert "unknown cloudstack.hypervisor 'hyperv'" in response.error["message"]
    assert all(name in response.error["message"] for name in ("xen", "kvm", "vmware"))


def test_a_hook_that_raises_names_the_plugin(cpi: Any, simulator: Any, tmp_path: Path, with_dists: Any) -> None:
    with_dists(HOOKS_DIST)
    image = tmp_path / "image"
    image.write_bytes(b"x" * 1024)
    config = make_cpi_config(simulator, "meta-raises", tmp_path, cloudstack={"default_zone": "zone-xen"})
    response = cpi("create_stemcell", str(image), test_hook_outcomes.STEMCELL_PROPS, config=config)
    assert response.error is not None
    message = response.error["message"]
    assert "plugin 'meta-raises' (cpi-meta-hooks)" in message and "cpi_template_params" in message
    assert "meta-raises cannot make template params" in message
    assert not simulator.inventory()["templates"] or all(
        t["name"].startswith("bosh-stemcell-") for t in simulator.inventory()["templates"])


def test_a_plugin_that_fails_to_import_is_named_when_selected(cpi: Any, simulator: Any, tmp_path: Path,
                                                              with_dists: Any) -> None:
    with_dists(BROKEN_DIST)
    assert cpi("info", config=make_cpi_config(simulator, "xen", tmp_path)).ok  # not selected: harmless
    response = cpi("info", config=make_cpi_config(simulator, "meta-broken", tmp_path))
    assert "plugin 'meta-broken' from cpi-meta-broken 0.3 failed to load" in response.error["message"]


class _Flavour:
    """An in-process flavour of order-base that records when its all-plugins hooks run."""

    @staticmethod
    @hookimpl
    def cpi_hypervisor():
        return HypervisorSpec(name="order-flavour", extends="order-base")

    @staticmethod
    @hookimpl
    def cpi_deploy_params(params, vm_type):
        params.setdefault("order", []).append("flavour")

    @staticmethod
    @hookimpl
    def cpi_vm_type_schema():
        return {"shared_key": fields.Integer()}


class _Base:
    @staticmethod
    @hookimpl
    def cpi_hypervisor():
        return HypervisorSpec(name="order-base", cloudstack_type="XenServer")

    @staticmethod
    @hookimpl
    def cpi_deploy_params(params, vm_type):
        params.setdefault("order", []).append("base")

    @staticmethod
    @hookimpl
    def cpi_vm_type_schema():
        return {"shared_key": fields.String()}


def test_all_plugins_hooks_run_base_first_so_a_flavour_has_the_last_word() -> None:
    flavour = PluginEntry("order-flavour", "inline", "inline-flavour", "0", module=_Flavour)
    base = PluginEntry("order-base", "inline", "inline-base", "0", module=_Base)
    host = PluginHost("order-flavour", [flavour, base])
    assert host.deploy_params({}, {})["order"] == ["base", "flavour"]
    assert isinstance(host.vm_type_fields()["shared_key"], fields.Integer)
