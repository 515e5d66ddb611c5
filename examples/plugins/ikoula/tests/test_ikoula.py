"""The Ikoula flavour is discovered, selected by ``cloudstack.hypervisor: ikoula``, and changes
exactly what it claims: HVM templates, Ikoula's disk offering names, a flavour detail on
templates - while every other answer still comes from the xen plugin it extends."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cpi_framework.config import CloudStackConfig, Config
from cpi_framework.plugin_system.host import PluginHost
from cpi_framework.plugin_system.manager import discover


def make_config(**cloudstack: object) -> Config:
    base = {"endpoint": "http://127.0.0.1:9/client/api", "api_key": "k", "secret_access_key": "s",
            "default_zone": "EU-FR-IKDC1-Z1-ADV", "hypervisor": "ikoula"}
    return Config(cloudstack=CloudStackConfig(**{**base, **cloudstack}))


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return PluginHost("ikoula")


def test_discovered_as_its_own_distribution() -> None:
    entry = discover()["ikoula"]
    assert (entry.distribution, entry.value) == ("cpi-framework-ikoula", "cpi_framework_ikoula.plugin")


def test_selected_with_the_chain_it_extends(host: PluginHost) -> None:
    assert [loaded.spec.name for loaded in host.chain] == ["xen", "ikoula"]
    assert host.cloudstack_type == "XenServer"  # inherited: a flavour need not repeat it
    assert host.stemcell_formats == ("cloudstack-vhdx",)


def test_defaults_override_xens_and_config_overrides_both(host: PluginHost) -> None:
    config = make_config().with_plugin_defaults(host.defaults)
    assert config.cloudstack.stemcell_requires_hvm is True  # xen alone says False
    assert config.cloudstack.stemcell_os_type == "Other PV (64-bit)"
    assert (config.cpi.default_disk_offering, config.cpi.default_ephemeral_disk_offering) == ("Data disk",) * 2
    explicit = make_config(stemcell_requires_hvm=False).with_plugin_defaults(host.defaults)
    assert explicit.cloudstack.stemcell_requires_hvm is False


def test_template_params_wrap_xens_answer(host: PluginHost) -> None:
    params = host.template_params({"name": "bosh-cloudstack-xen"}, make_config().with_plugin_defaults(host.defaults))
    assert (params.format, params.file_suffix) == ("VHD", ".vhd.bz2")  # from xen
    assert params.requires_hvm is True and params.details == {"bosh_cpi_flavour": "ikoula"}


def test_everything_else_is_xens(host: PluginHost) -> None:
    assert host.disk_hint({"id": "v", "deviceid": 2}, {}, "persistent") == {"path": "/dev/xvdc", "volume_id": "2"}
    assert host.attach_error_is_transient(RuntimeError("VM_MISSING_PV_DRIVERS")) is True
    assert json.loads(host.user_data({"agent_id": "a"}, {"networks": []}).data) == {"agent_id": "a"}


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "cpi.json"
    path.write_text(json.dumps({"cloudstack": {
        "endpoint": "http://127.0.0.1:9/client/api", "api_key": "k", "secret_access_key": "s",
        "default_zone": "EU-FR-IKDC1-Z1-ADV", "hypervisor": "ikoula"}}))
    return path


def run_cpi(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cpi_framework", *args], input=stdin, capture_output=True,
                          text=True, timeout=60)


def test_the_real_cpi_process_selects_it(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    listing = run_cpi("plugins", "--config", str(config), "--json")
    assert listing.returncode == 0, listing.stderr
    report = json.loads(listing.stdout)
    assert report["active"] == "ikoula" and report["active_chain"] == ["xen", "ikoula"]
    row = next(p for p in report["plugins"] if p["name"] == "ikoula")
    assert row["hooks"] == ["cpi_hypervisor", "cpi_template_params"] and row["cloudstack_type"] == "XenServer"
    info = run_cpi("--config", str(config), stdin=json.dumps({"method": "info", "arguments": [], "context": {}}))
    assert json.loads(info.stdout)["result"]["stemcell_formats"] == ["cloudstack-vhdx"]
