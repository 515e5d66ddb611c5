"""The opt-in pytest kit ``cpi_framework.testing``: fixtures, CPI runner, registry double."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import requests

from cloudstack_simulator import Simulator
from cpi_framework.testing import CpiResponse, RegistryServer, make_cpi_config, run_cpi


def test_not_auto_loaded() -> None:
    assert not [ep for ep in entry_points(group="pytest11") if "cpi_framework" in ep.value]
    out = subprocess.run([sys.executable, "-c", "import sys, cpi_framework, cloudstack_simulator;"
                          "print('cpi_framework.testing' in sys.modules)"], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_make_cpi_config_shape_and_overrides(tmp_path: Path) -> None:
    with Simulator() as sim:
        path = make_cpi_config(sim, "kvm", tmp_path, cloudstack={"timeouts": {"create_vm": 5}},
                               cpi={"ntp": ["10.0.0.1"]})
        cfg = json.loads(path.read_text())
    assert cfg["cloudstack"] == {"endpoint": sim.endpoint, "api_key": "sim-api-key",
                                 "secret_access_key": "sim-secret~key/+=", "default_zone": "zone-kvm",
                                 "hypervisor": "kvm", "default_key_name": "bosh-key",
                                 "timeouts": {"default": 30, "create_vm": 5}}
    assert cfg["cpi"]["ntp"] == ["10.0.0.1"] and cfg["cpi"]["default_disk_offering"] == "disk-custom"
    assert cfg["cpi"]["blobstore"]["agent"] == {"user": "agent", "password": "agent-blob-password"}


def _stub(tmp_path: Path, stdout: str) -> list[str]:
    stub = tmp_path / "stub.py"
    stub.write_text(textwrap.dedent(f"""
        import json, sys
        request = sys.stdin.read()
        assert not request.endswith("\\n")
        assert sys.argv[1] == "--config"
        sys.stderr.write("stub log: " + json.loads(request)["method"])
        sys.stdout.write({stdout!r}.replace("REQ", json.dumps(request)))
    """))
    return [sys.executable, str(stub)]


def test_run_cpi_parses_one_document(tmp_path: Path) -> None:
    cmd = _stub(tmp_path, '{"result": REQ, "error": null, "log": "L"}')
    resp = run_cpi(tmp_path / "c.json", "create_disk", 1024, {}, None, api_version=2, command=cmd)
    assert isinstance(resp, CpiResponse) and resp.ok and resp.log == "L" and resp.returncode == 0
    request = json.loads(resp.result)
    assert request["method"] == "create_disk" and request["arguments"] == [1024, {}, None]
    assert request["api_version"] == 2 and request["context"]["director_uuid"]
    assert "stub log: create_disk" in resp.stderr


@pytest.mark.parametrize("stdout", ['{"result": 1}{"result": 2}', "not json", "[1, 2]", 'noise\n{"result": 1}'])
def test_run_cpi_rejects_protocol_violations(tmp_path: Path, stdout: str) -> None:
    with pytest.raises(AssertionError):
        run_cpi(tmp_path / "c.json", "info", command=_stub(tmp_path, stdout))


def test_registry_double() -> None:
    with RegistryServer() as reg:
        url = f"{reg.endpoint}/instances/i-1/settings"
        auth = (reg.user, reg.password)
        assert requests.get(url, timeout=5).status_code == 401
        assert requests.put(url, data='{"agent_id": "a"}', auth=auth, timeout=5).status_code == 200
        assert requests.get(url, auth=auth, timeout=5).json()["settings"] == '{"agent_id": "a"}'
        assert reg.settings == {"i-1": '{"agent_id": "a"}'}
        assert requests.delete(url, auth=auth, timeout=5).status_code == 200
        assert requests.delete(url, auth=auth, timeout=5).status_code == 404
        assert requests.get(url, auth=auth, timeout=5).status_code == 404
        assert reg.config()["endpoint"] == reg.endpoint


def test_plugin_fixtures_in_a_plugin_authors_suite(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["cpi_framework.testing"]\n')
    (tmp_path / "test_kit.py").write_text(textwrap.dedent("""
        import json

        def test_simulator(simulator, simulator_session):
            assert simulator.endpoint != simulator_session.endpoint
            names = {t["name"] for t in simulator.inventory()["templates"]}
            assert {"bosh-stemcell-xen", "bosh-stemcell-kvm", "bosh-stemcell-vmware"} <= names

        def test_config(cpi_config, hypervisor, hypervisor_zone, simulator):
            cfg = json.loads(cpi_config.read_text())
            assert cfg["cloudstack"]["default_zone"] == hypervisor_zone
            assert cfg["cloudstack"]["hypervisor"] == hypervisor
            assert cfg["cloudstack"]["endpoint"] == simulator.endpoint

        def test_cpi_info(cpi):
            resp = cpi("info")
            assert resp.returncode == 0

        def test_registry(registry):
            assert registry.endpoint.startswith("http://127.0.0.1:")
    """))
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "8 passed" in out.stdout  # test_config and test_cpi_info run once per hypervisor
