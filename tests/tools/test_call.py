"""``cloudstack-cpi call``: arguments as JSON/YAML/@file, the real CPI process, pretty or raw output."""

from __future__ import annotations

import json
import subprocess

import pytest

from cpi_framework.testing import cpi_command, make_cpi_config
from cpi_framework.tools import call


@pytest.fixture
def config(simulator, tmp_path):
    return make_cpi_config(simulator, "xen", tmp_path)


def run(config, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cpi_command(), "call", *args, "--config", str(config)], capture_output=True, text=True,
                          timeout=120)


def test_info_pretty_printed(config):
    proc = run(config, "info")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("result:") and "stemcell_formats:" in proc.stdout and "cloudstack-vhdx" in proc.stdout


def test_yaml_and_file_arguments_and_a_result(simulator, config, tmp_path):
    props = tmp_path / "disk.yml"
    props.write_text("disk_offering: disk-custom\n")
    created = run(config, "create_disk", "2048", f"@{props}", "null", "--raw", "--context",
                  '{director_uuid: call-test-director}')
    assert created.returncode == 0, created.stdout + created.stderr
    response = json.loads(created.stdout)
    assert response["error"] is None and "log" in response
    disk = response["result"]
    volume = next(v for v in simulator.inventory()["volumes"] if v["id"] == disk)
    assert volume["size"] == 2 * 2**30
    assert {"key": "bosh-director-uuid", "value": "call-test-director"} in [
        {"key": t["key"], "value": t["value"]} for t in volume["tags"]]

    has = run(config, "has_disk", disk, "--debug")
    assert has.returncode == 0 and has.stdout.strip().startswith("result: true")
    assert "log:" in has.stdout and "listVolumes" in has.stdout
    assert simulator.secret_key not in has.stdout + has.stderr


def test_error_response_exits_1(config):
    proc = run(config, "delete_vm", "6b3f0d4e-0000-4000-8000-000000000000")
    assert proc.returncode == 1
    assert proc.stdout.startswith("error: Bosh::Clouds::VMNotFound")


def test_api_version_is_passed(config):
    proc = run(config, "update_disk", "some-disk", "1024", "{}", "--api-version", "1", "--no-log")
    assert proc.returncode == 1
    assert "requires CPI API version 2" in proc.stdout and "log:" not in proc.stdout


def test_bad_argument_is_a_usage_error(config, tmp_path):
    proc = run(config, "has_vm", "{a: [")
    assert proc.returncode == 2 and "neither JSON nor YAML" in proc.stderr
    missing = run(config, "has_vm", f"@{tmp_path / 'missing.json'}")
    assert missing.returncode == 2 and "cannot read argument file" in missing.stderr


@pytest.mark.parametrize("text, value", [('"x"', "x"), ("small", "small"), ("1024", 1024), ("null", None),
                                         ("{cpu: 2}", {"cpu": 2}), ('["a", 1]', ["a", 1]), ("true", True)])
def test_parse_argument(text, value):
    assert call.parse_argument(text) == value
