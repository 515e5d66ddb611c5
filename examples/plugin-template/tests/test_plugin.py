"""The template's own tests: discovered, selected, and doing what it claims. Extend them as you go."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import PLUGIN_NAME

from cpi_framework.plugin_system.host import PluginHost
from cpi_framework.plugin_system.manager import discover


def test_discovered_from_its_entry_point() -> None:
    assert discover()[PLUGIN_NAME].value.endswith(".plugin")


def test_selected_with_its_base() -> None:
    plugin = discover()[PLUGIN_NAME].load()
    host = PluginHost(PLUGIN_NAME)
    assert [loaded.spec.name for loaded in host.chain] == [plugin.BASE, PLUGIN_NAME]
    for key, value in plugin.cpi_hypervisor().defaults.items():
        assert host.defaults[key] == value


def test_deploy_params_add_the_flavour_detail() -> None:
    params = PluginHost(PLUGIN_NAME).deploy_params({"details": {"cpuNumber": "1"}}, {})
    assert params["details"]["cpuNumber"] == "1" and params["details"][PLUGIN_NAME] == "true"


def test_listed_by_the_cpi(tmp_path) -> None:
    config = tmp_path / "cpi.json"
    config.write_text(json.dumps({"cloudstack": {"endpoint": "http://127.0.0.1:9/client/api", "api_key": "k",
                                                 "secret_access_key": "s", "default_zone": "z",
                                                 "hypervisor": PLUGIN_NAME}}))
    proc = subprocess.run([sys.executable, "-m", "cpi_framework", "plugins", "--config", str(config), "--json"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["active_chain"] == [discover()[PLUGIN_NAME].load().BASE, PLUGIN_NAME]
