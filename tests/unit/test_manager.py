"""Plugin discovery and selection: entry points of real (fake) distributions, chains, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from cpi_framework import hookspecs
from cpi_framework.errors import PluginError
from cpi_framework.plugin_system.host import PluginHost
from cpi_framework.plugin_system.manager import ONLY_SHIPPED_ENV, PluginEntry, discover, resolve_chain
from cpi_framework.types import HypervisorSpec

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture
def fake_plugins(monkeypatch):
    monkeypatch.syspath_prepend(str(DATA / "fakeplugins"))


def inline(name: str, **spec_kwargs) -> PluginEntry:
    class Plugin:
        @hookspecs.hookimpl
        def cpi_hypervisor(self):
            return HypervisorSpec(name=name, **spec_kwargs)

    return PluginEntry(name=name, value="inline", distribution="inline-dist", version="0", module=Plugin())


def test_entry_points_of_an_installed_distribution_are_found(fake_plugins):
    found = discover()
    assert found["fakehv"].distribution == "cpi-fake-hv"
    assert found["fakehv"].version == "0.1"
    assert {"xen", "kvm", "vmware"} <= set(found)


def test_selecting_a_flavour_registers_its_chain_base_first(fake_plugins):
    host = PluginHost("fakeflavour")
    assert [loaded.spec.name for loaded in host.chain] == ["fakehv", "fakeflavour"]
    assert host.cloudstack_type == "Simulator"  # inherited from the base
    assert host.stemcell_formats == ("fake-flavoured",)  # the flavour's own
    assert host.defaults == {"cloudstack.stemcell_os_type": "Flavoured OS"}
    assert [p.spec.name for p in host.chain] == ["fakehv", "fakeflavour"]
    assert len(host.pm.get_plugins()) == 2  # xen, kvm and vmware are not registered


def test_unknown_name_lists_installed_plugins(fake_plugins):
    with pytest.raises(PluginError, match=r"unknown cloudstack.hypervisor 'nope': installed plugins are .*fakehv"):
        PluginHost("nope")


def test_two_distributions_claiming_one_name(fake_plugins, monkeypatch):
    monkeypatch.syspath_prepend(str(DATA / "dupplugins"))
    with pytest.raises(PluginError) as info:
        discover()
    assert "cpi-fake-hv" in str(info.value) and "cpi-fake-dup" in str(info.value)


def test_disabled_plugins_env(fake_plugins, monkeypatch):
    monkeypatch.setenv("CPI_FRAMEWORK_DISABLED_PLUGINS", "fakehv, kvm")
    found = discover()
    assert "fakehv" not in found and "kvm" not in found and "xen" in found


def test_only_shipped_plugins_env(fake_plugins, monkeypatch):
    monkeypatch.setenv(ONLY_SHIPPED_ENV, "1")
    found = discover()
    assert "fakehv" not in found
    assert {"xen", "kvm", "vmware"} <= set(found)


def test_missing_base_and_cycles():
    orphan = inline("orphan", extends="ghost")
    with pytest.raises(PluginError, match="extends 'ghost', which is not installed"):
        resolve_chain("orphan", {"orphan": orphan})
    a, b = inline("a", extends="b"), inline("b", extends="a")
    with pytest.raises(PluginError, match="cycle"):
        resolve_chain("a", {"a": a, "b": b})


def test_a_plugin_that_misnames_itself():
    entry = inline("other")
    with pytest.raises(PluginError, match="describes itself as 'other'"):
        resolve_chain("mine", {"mine": entry})


def test_misspelled_hook_fails_loudly():
    class Typo:
        @hookspecs.hookimpl
        def cpi_hypervisor(self):
            return HypervisorSpec(name="typo", cloudstack_type="KVM")

        @hookspecs.hookimpl
        def cpi_disk_hitn(self, volume):
            return "/dev/x"

    entry = PluginEntry(name="typo", value="inline", distribution="d", version="0", module=Typo())
    with pytest.raises(PluginError, match="unknown hook"):
        PluginHost("typo", [entry])


def test_a_hook_that_raises_is_reported_with_the_plugin_name():
    class Broken:
        @hookspecs.hookimpl
        def cpi_hypervisor(self):
            return HypervisorSpec(name="broken", cloudstack_type="KVM")

        @hookspecs.hookimpl
        def cpi_disk_hint(self, volume, vm, role):
            raise KeyError("deviceid")

    entry = PluginEntry(name="broken", value="inline", distribution="broken-dist", version="0", module=Broken())
    host = PluginHost("broken", [entry])
    with pytest.raises(PluginError, match="failed in cpi_disk_hint: KeyError"):
        host.disk_hint({}, {}, "persistent")


def test_unanswered_and_malformed_hook_results():
    host = PluginHost("bare", [inline("bare", cloudstack_type="KVM")])
    with pytest.raises(PluginError, match="does not answer cpi_user_data"):
        host.user_data({}, {})

    class EmptyHint:
        @hookspecs.hookimpl
        def cpi_hypervisor(self):
            return HypervisorSpec(name="empty", cloudstack_type="KVM")

        @hookspecs.hookimpl
        def cpi_disk_hint(self, volume, vm, role):
            return {"path": 3} if role == "persistent" else {"path": "/dev/sda"}

    entry = PluginEntry(name="empty", value="inline", distribution="d", version="0", module=EmptyHint())
    host = PluginHost("empty", [entry])
    with pytest.raises(PluginError, match="non-string disk hint"):
        host.disk_hint({}, {}, "persistent")
    with pytest.raises(PluginError, match="system disk hint as a string"):
        host.disk_hint({}, {}, "system")


def test_a_plugin_that_fails_to_import_is_named(tmp_path, monkeypatch):
    dist = tmp_path / "cpi_bad-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: cpi-bad\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[cpi_framework]\nbad = cpi_bad_missing_module\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError, match="plugin 'bad' from cpi-bad 1.0 failed to load"):
        PluginHost("bad")


@pytest.mark.parametrize("group", ["cpi_framework", "console_scripts", "pytest11"])
def test_the_cheap_entry_point_scan_finds_what_importlib_metadata_finds(fake_plugins, monkeypatch, group):
    """Discovery reads entry_points.txt itself (importlib.metadata costs ~20 ms per call): it
    must list the same entry points, distributions and versions, shadowing included."""
    from importlib import metadata

    from cpi_framework.plugin_system import entry_point_scan

    monkeypatch.syspath_prepend(str(DATA / "dupplugins"))
    expected = sorted((ep.name, ep.value, ep.dist.name, ep.dist.version) for ep in metadata.entry_points(group=group))
    found = sorted((ep.name, ep.value, ep.distribution, ep.version) for ep in entry_point_scan.entry_points(group))
    assert found == expected and expected


def test_the_cheap_entry_point_scan_falls_back_for_a_zip_on_sys_path(tmp_path, monkeypatch):
    import zipfile

    from cpi_framework.plugin_system import entry_point_scan

    archive = tmp_path / "plugins.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("cpi_zipped-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: cpi-zipped\nVersion: 1.0\n")
        zf.writestr("cpi_zipped-1.0.dist-info/entry_points.txt", "[cpi_framework]\nzipped = cpi_zipped:plugin\n")
    monkeypatch.syspath_prepend(str(archive))
    found = {ep.name: ep for ep in entry_point_scan.entry_points("cpi_framework")}
    assert found["zipped"].distribution == "cpi-zipped" and found["zipped"].value == "cpi_zipped:plugin"
