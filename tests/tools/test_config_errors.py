"""Config errors are the operator's to fix: every tool says so in one line and exits 2 (issue 19 item 7).

docs/operator-tools.md promises exit 2 and one line on stderr for a usage or config error, for
every tool; a malformed JSON config gets the JSON parser's own message (not YAML's, which the
release never renders), and a misspelled key a "did you mean".
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from cpi_framework.testing import cpi_command

GOOD = {"cloudstack": {"endpoint": "http://127.0.0.1:9/client/api", "api_key": "key-0123",
                       "secret_access_key": "secret-0123", "default_zone": "zone-xen"}}
MISSPELLED = {**GOOD, "cpi": {"agent": {"mbuss": "nats://u:p@10.0.0.6:4222"}}}


def tool_commands(tmp_path: Path) -> dict[str, list[str]]:
    tarball = tmp_path / "stemcell.tgz"
    tarball.write_bytes(b"")  # the config is judged before the tarball is read
    return {"call": ["call", "info"], "orphans": ["orphans"], "stemcell upload": ["stemcell", "upload", str(tarball)]}


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*cpi_command(), *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("tool", ["call", "orphans", "stemcell upload"])
def test_each_tool_reports_a_config_error_in_one_line_with_exit_2(tmp_path, tool):
    command = tool_commands(tmp_path)[tool]
    malformed = tmp_path / "cpi.json"
    malformed.write_text('{"cloudstack": {"endpoint": "x",}}')
    proc = run(*command, "--config", str(malformed))
    assert proc.returncode == 2, proc
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "is not valid JSON: Expecting property name enclosed in double quotes at line 1" in proc.stderr

    misspelled = tmp_path / "misspelled.json"
    misspelled.write_text(json.dumps(MISSPELLED))
    proc = run(*command, "--config", str(misspelled))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "cpi.agent.mbuss: unknown key (did you mean 'cpi.agent.mbus'?)" in proc.stderr

    proc = run(*command, "--config", str(tmp_path / "absent.json"))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "cannot read config file" in proc.stderr


def test_check_lists_each_config_problem_and_exits_2(tmp_path):
    config = tmp_path / "cpi.json"
    config.write_text(json.dumps({**MISSPELLED, "cpi": {**MISSPELLED["cpi"], "webdav_port": 8443}}))
    proc = run("check", "--config", str(config))
    assert proc.returncode == 2
    assert "cpi.agent.mbuss: unknown key (did you mean 'cpi.agent.mbus'?)" in proc.stdout
    assert "fix: rename it to 'cpi.agent.mbus'" in proc.stdout
    assert "bosh-cloudstack-cpi-core" in proc.stdout  # cpi.webdav_*: where such keys come from


def test_the_cpi_response_names_the_key_it_meant(tmp_path):
    config = tmp_path / "cpi.json"
    config.write_text(json.dumps(MISSPELLED))
    request = json.dumps({"method": "has_vm", "arguments": ["vm-1"], "context": {"director_uuid": "d"}})
    proc = subprocess.run([*cpi_command(), "--config", str(config)], input=request, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0
    assert "did you mean 'cpi.agent.mbus'?" in json.loads(proc.stdout)["error"]["message"]


def test_yaml_configs_keep_the_yaml_message(tmp_path):
    config = tmp_path / "cpi.yml"
    config.write_text("cloudstack: [\n")
    proc = run("call", "info", "--config", str(config))
    assert proc.returncode == 2 and "neither valid JSON nor YAML" in proc.stderr


@pytest.mark.parametrize("args", [["check"], ["orphans", "--config", "x.json", "--min-age", "soon"], ["call"],
                                  ["stemcell"], ["stemcell", "upload"], ["demo", "--bogus"], ["plugins", "--bogus"]])
def test_usage_errors_are_one_line_and_exit_2(args):
    proc = run(*args)
    assert proc.returncode == 2, proc
    assert proc.stderr.count("\n") == 1 and "--help" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout == ""
