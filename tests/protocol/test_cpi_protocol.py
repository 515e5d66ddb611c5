"""Contract scenarios 6.A (protocol) and 6.B (info and versioning) through the real process."""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

KNOWN_TYPES = {
    "Bosh::Clouds::CpiError", "Bosh::Clouds::NotImplemented", "Bosh::Clouds::NotSupported",
    "Bosh::Clouds::CloudError", "Bosh::Clouds::VMNotFound", "Bosh::Clouds::NetworkNotFound",
    "Bosh::Clouds::NoDiskSpace", "Bosh::Clouds::DiskNotAttached", "Bosh::Clouds::DiskNotFound",
    "Bosh::Clouds::VMCreationFailed",
}


def run(command: list[str], config: Path | None, stdin: bytes, env: dict[str, str] | None = None) -> tuple[dict, str]:
    args = command + (["--config", str(config)] if config else [])
    proc = subprocess.run(args, input=stdin, capture_output=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr.decode()
    response = json.loads(proc.stdout)  # exactly one JSON document, nothing else on stdout
    assert_schema(response)
    return response, proc.stderr.decode()


def assert_schema(response: dict) -> None:
    """The director's Membrane RESPONSE_SCHEMA."""
    assert set(response) == {"result", "error", "log"}
    assert isinstance(response["log"], str)
    error = response["error"]
    if error is not None:
        assert response["result"] is None
        assert set(error) == {"type", "message", "ok_to_retry"}
        assert error["type"] in KNOWN_TYPES
        assert isinstance(error["message"], str) and error["message"]
        assert isinstance(error["ok_to_retry"], bool)


def request(method: str, arguments: list | None = None, **extra) -> bytes:
    return json.dumps({"method": method, "arguments": [] if arguments is None else arguments, **extra}).encode()


def test_info_answers_one_object_without_trailing_newline(cpi_command, minimal_config):
    raw = request("info")
    assert not raw.endswith(b"\n")
    response, _ = run(cpi_command, minimal_config, raw)
    assert response["error"] is None
    assert response["result"]["api_version"] >= 2
    assert response["result"]["stemcell_formats"]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"{-}", "Must provide valid JSON payload"),
        (b"", "Must provide valid JSON payload"),
        (b"\xff\xfe", "Must provide valid JSON payload"),
        (b"[]", "Must provide valid JSON payload"),
        (b"{}", "Must provide 'method' key"),
        (b'{"method":"x"}', "Must provide 'arguments' key"),
        (b'{"method":1,"arguments":[]}', "'method' key"),
        (b'{"method":"info","arguments":{}}', "'arguments' key"),
        (b'{"method":"info","arguments":[],"context":[]}', "'context' must be an object"),
        (b'{"method":"info","arguments":[],"api_version":"2"}', "'api_version' must be an integer"),
    ],
)
def test_malformed_requests_get_cpi_error(cpi_command, minimal_config, payload, message):
    response, _ = run(cpi_command, minimal_config, payload)
    assert response["error"]["type"] == "Bosh::Clouds::CpiError"
    assert message in response["error"]["message"]


def test_unknown_method_is_not_implemented(cpi_command, minimal_config):
    response, _ = run(cpi_command, minimal_config, request("unknown"))
    assert response["error"]["type"] == "Bosh::Clouds::NotImplemented"
    assert response["error"]["message"] == "Must call implemented method: Unknown method 'unknown'"


def test_api_version_above_maximum(cpi_command, minimal_config):
    response, _ = run(cpi_command, minimal_config, request("info", api_version=666))
    assert response["error"]["type"] == "Bosh::Clouds::NotImplemented"
    assert "'666'" in response["error"]["message"]


@pytest.mark.parametrize(
    "context",
    [
        None,
        {"director_uuid": "abc"},
        {"director_uuid": "abc", "request_id": "cpi-123456", "vm": {"stemcell": {"api_version": 3}}},
        {"director_uuid": "abc", "request_id": "cpi-1", "some_cpi_config_key": {"x": 1}},
        {"director_uuid": "abc", "vm": {"stemcell": {}}},
    ],
)
def test_contexts_are_accepted(cpi_command, minimal_config, context):
    extra = {} if context is None else {"context": context}
    response, _ = run(cpi_command, minimal_config, request("info", **extra))
    assert response["error"] is None


def test_request_id_prefixes_log_lines(cpi_command, minimal_config):
    response, stderr = run(cpi_command, minimal_config, request("nope", context={"request_id": "cpi-424242"}))
    assert response["log"].startswith("[cpi-424242] ")
    assert "[cpi-424242]" in stderr


def test_runs_with_the_directors_bare_environment(cpi_command, minimal_config, clean_env):
    response, _ = run(cpi_command, minimal_config, request("info"), env=clean_env)
    assert response["error"] is None


def test_runs_with_the_clis_environment(cpi_command, minimal_config, tmp_path):
    env = dict(os.environ, BOSH_PACKAGES_DIR=str(tmp_path), BOSH_JOBS_DIR=str(tmp_path))
    response, _ = run(cpi_command, minimal_config, request("info", api_version=1), env=env)
    assert response["error"] is None


def test_extra_arguments_are_ignored_and_missing_ones_are_errors(cpi_command, minimal_config):
    response, _ = run(cpi_command, minimal_config, request("info", ["extra", 1]))
    assert response["error"] is None
    response, _ = run(cpi_command, minimal_config, request("has_vm", []))
    assert response["error"]["type"] == "Bosh::Clouds::CpiError"
    assert "vm_cid" in response["error"]["message"]


def test_wrong_argument_type_names_the_argument(cpi_command, minimal_config):
    response, _ = run(cpi_command, minimal_config, request("has_vm", [{"not": "a cid"}]))
    assert response["error"]["type"] == "Bosh::Clouds::CpiError"
    assert "'vm_cid'" in response["error"]["message"]
    response, _ = run(cpi_command, minimal_config, request("has_vm", [""]))
    assert "non-empty" in response["error"]["message"]


@pytest.mark.parametrize("api_version", [None, 1, 2, 3])
def test_info_for_every_api_version(cpi_command, minimal_config, api_version):
    extra = {} if api_version is None else {"api_version": api_version}
    response, _ = run(cpi_command, minimal_config, request("info", **extra))
    assert response["result"]["api_version"] == 3
    assert isinstance(response["result"]["stemcell_formats"], list)


def test_info_touches_no_network(cpi_command, tmp_path):
    """The endpoint is a closed port and the proxy a black hole: info must not care."""
    config = tmp_path / "cpi.json"
    config.write_text(json.dumps({"cloudstack": {
        "endpoint": "https://203.0.113.1/client/api", "api_key": "k", "secret_access_key": "s",
        "default_zone": "z", "proxy_host": "203.0.113.2"}}))
    response, _ = run(cpi_command, config, request("info"))
    assert response["error"] is None


def test_info_in_parallel(cpi_command, minimal_config):
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: run(cpi_command, minimal_config, request("info"))[0], range(40)))
    assert all(r["error"] is None for r in results)


@pytest.mark.parametrize(
    ("method", "wire_type"),
    [
        ("current_vm_id", "Bosh::Clouds::NotImplemented"),
        ("create_network", "Bosh::Clouds::NotImplemented"),
        ("delete_network", "Bosh::Clouds::NotImplemented"),
        ("configure_networks", "Bosh::Clouds::NotSupported"),
    ],
)
def test_unoffered_methods_use_the_exact_types(cpi_command, minimal_config, method, wire_type):
    response, _ = run(cpi_command, minimal_config, request(method, ["vm-1", {}], api_version=2))
    assert response["error"]["type"] == wire_type


def test_update_disk_needs_api_version_2(cpi_command, minimal_config):
    response, _ = run(cpi_command, minimal_config, request("update_disk", ["disk-1", 1024, {}], api_version=1))
    assert response["error"]["type"] == "Bosh::Clouds::NotImplemented"
    assert "requires CPI API version 2" in response["error"]["message"]


def test_ping(cpi_command, minimal_config):
    response, _ = run(cpi_command, minimal_config, request("ping"))
    assert response["result"] == "pong"


def test_missing_config_argument_still_answers(cpi_command):
    response, _ = run(cpi_command, None, request("info"))
    assert response["error"]["type"] == "Bosh::Clouds::CpiError"
    assert "--config" in response["error"]["message"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"cloudstack": {"endpoint": "http://x/client/api"}}', "cloudstack.api_key: missing required key"),
        ('{"cloudstack": {"endpoint": "http://x/client/api", "api_key": "k", "secret_access_key": "s",'
         ' "default_zone": "z", "endpont": 1}}', "cloudstack.endpont: unknown key"),
        # a *.json file is JSON only: the JSON parser's message, not YAML's (issue 19 item 7)
        ("cloudstack: [unclosed", "is not valid JSON: Expecting value at line 1, column 1"),
        ('{"cloudstack": {"endpoint": "http://x/client/api",}}', "is not valid JSON: Expecting property name"),
    ],
)
def test_bad_config_file_names_key_and_file(cpi_command, tmp_path, content, expected):
    config = tmp_path / "broken.json"
    config.write_text(content)
    response, _ = run(cpi_command, config, request("has_vm", ["vm-1"]))
    assert response["error"]["type"] == "Bosh::Clouds::CloudError"
    assert expected in response["error"]["message"]
    assert str(config) in response["error"]["message"]


def test_unreadable_config_file(cpi_command, tmp_path):
    response, _ = run(cpi_command, tmp_path / "missing.json", request("has_vm", ["vm-1"]))
    assert "cannot read config file" in response["error"]["message"]


def test_unknown_hypervisor_lists_installed_plugins(cpi_command, tmp_path):
    config = tmp_path / "cpi.json"
    config.write_text(json.dumps({"cloudstack": {"endpoint": "http://x/client/api", "api_key": "k",
                                                 "secret_access_key": "s", "default_zone": "z",
                                                 "hypervisor": "hyperv"}}))
    response, _ = run(cpi_command, config, request("info"))
    assert "unknown cloudstack.hypervisor 'hyperv'" in response["error"]["message"]
    assert "xen" in response["error"]["message"]


def test_stdout_carries_only_the_response_even_when_a_plugin_prints(cpi_command, tmp_path):
    """A stray print() in plugin code must not corrupt the protocol."""
    plugin_dir = tmp_path / "plugins"
    dist = plugin_dir / "cpi_noisy-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: cpi-noisy\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[cpi_framework]\nnoisy = cpi_noisy\n")
    (plugin_dir / "cpi_noisy.py").write_text(
        "from cpi_framework.hookspecs import hookimpl\nfrom cpi_framework.types import HypervisorSpec\n"
        "print('import-time noise')\n"
        "@hookimpl\ndef cpi_hypervisor():\n    print('hook noise')\n"
        "    return HypervisorSpec(name='noisy', cloudstack_type='XenServer', stemcell_formats=('x',))\n"
    )
    config = tmp_path / "cpi.json"
    config.write_text(json.dumps({"cloudstack": {"endpoint": "http://x/client/api", "api_key": "k",
                                                 "secret_access_key": "s", "default_zone": "z",
                                                 "hypervisor": "noisy"}}))
    env = dict(os.environ, PYTHONPATH=str(plugin_dir))
    response, stderr = run(cpi_command, config, request("info"), env=env)
    assert response["result"]["stemcell_formats"] == ["x"]
    assert "hook noise" in stderr


def test_exit_after_response_still_runs_atexit_and_flushes(cpi_command, tmp_path):
    """The CPI leaves with os._exit once the response is out (no interpreter teardown): what
    teardown did must still happen - atexit callbacks of plugins and libraries, and the last
    unflushed bytes of stderr (written here without a newline, so only a flush sends them)."""
    plugin_dir = tmp_path / "plugins"
    dist = plugin_dir / "cpi_atexit-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: cpi-atexit\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[cpi_framework]\natexit-probe = cpi_atexit\n")
    (plugin_dir / "cpi_atexit.py").write_text(
        "import atexit, sys\nfrom cpi_framework.hookspecs import hookimpl\n"
        "from cpi_framework.types import HypervisorSpec\n"
        "atexit.register(lambda: sys.stderr.write('plugin atexit ran'))\n"
        "@hookimpl\ndef cpi_hypervisor():\n"
        "    return HypervisorSpec(name='atexit-probe', cloudstack_type='XenServer', stemcell_formats=('x',))\n"
    )
    config = tmp_path / "cpi.json"
    config.write_text(json.dumps({"cloudstack": {"endpoint": "http://x/client/api", "api_key": "k",
                                                 "secret_access_key": "s", "default_zone": "z",
                                                 "hypervisor": "atexit-probe"}}))
    env = dict(os.environ, PYTHONPATH=str(plugin_dir))
    response, stderr = run(cpi_command, config, request("info"), env=env)
    assert response["result"]["stemcell_formats"] == ["x"]
    assert stderr.endswith("plugin atexit ran")
