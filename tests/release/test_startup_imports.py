"""What ``info`` imports in the installed package: its own small modules, not the heavy ones.

``info`` is called often and must stay within a few times a bare interpreter start (issue 18,
measured in ``bench/``, never asserted here). What is asserted is the structure that makes it
cheap: answering it loads no hook machinery (pluggy), no logging, no dataclasses/inspect, no
config validation (marshmallow) and no HTTP stack. The process is the release's own
interpreter and library, run as its wrapper runs it (``-I -S``, the library put first on
``sys.path``); only the wrapper's last step differs: it calls ``main`` with the arguments (so
the process does not leave right after the response) and then lists ``sys.modules`` on stderr.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from .conftest import Installation

HEAVY = ("pluggy", "logging", "dataclasses", "inspect", "marshmallow", "requests", "http.client", "urllib3",
         "yaml", "pathlib")
LIST_MODULES = ("import sys; sys.path.insert(0, sys.argv.pop(1)); from cpi_framework.cli import main; "
                "main(sys.argv[1:]); sys.stderr.write('MODULES ' + ' '.join(sorted(sys.modules)) + '\\n')")


def loaded_modules(installation: Installation, config: dict, request: dict) -> tuple[dict, set[str]]:
    package = installation.packages / "cloudstack_cpi"
    config_path = installation.root / "startup-imports.json"
    config_path.write_text(json.dumps(config))
    python = installation.packages / "python3" / "bin" / "python3"
    done = subprocess.run([str(python), "-I", "-S", "-c", LIST_MODULES, str(package / "lib" / "python"),
                           "--config", str(config_path)], input=json.dumps(request).encode(),
                          capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    modules = next(line for line in done.stderr.decode().splitlines() if line.startswith("MODULES "))
    return json.loads(done.stdout), set(modules.split()[1:])


@pytest.mark.parametrize("hypervisor", ["xen", "kvm", "vmware"])
def test_info_answers_without_importing_the_heavy_modules(installation, hypervisor) -> None:
    config = {"cloudstack": {"hypervisor": hypervisor, "endpoint": "http://127.0.0.1:1/client/api",
                             "api_key": "key", "secret_access_key": "secret"}}
    response, modules = loaded_modules(installation, config, {"method": "info", "arguments": [],
                                                              "context": {"director_uuid": "d-1"}})
    assert response["error"] is None and response["result"]["stemcell_formats"], response
    assert f"cpi_framework_{hypervisor}.plugin" in modules  # the plugin itself was loaded
    assert sorted(m for m in HEAVY if m in modules) == []


def test_the_listing_sees_a_heavy_import(installation) -> None:
    """The check above can fail: an error response imports logging (its traceback goes to the log)."""
    config = {"cloudstack": {"hypervisor": "xen"}}
    response, modules = loaded_modules(installation, config, {"method": "info", "arguments": [], "api_version": 9})
    assert response["error"]["type"] == "Bosh::Clouds::NotImplemented"
    assert "logging" in modules
