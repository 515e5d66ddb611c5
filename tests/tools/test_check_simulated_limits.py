"""``cloudstack-cpi check`` against simulator configurations, not patches: a network whose offering has
no UserData service (default inventory: ``bosh-nouserdata-net`` in zone-xen), the account's role
(``listApis``) and its resource limits (``listResourceLimits``) deciding the template-upload check.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cloudstack_simulator import Simulator
from cpi_framework.testing import make_cpi_config
from cpi_framework.tools import check

CLOUD_CONFIG = """
azs:
- {name: z1, cloud_properties: {zone: zone-xen}}
networks:
- name: default
  type: manual
  subnets:
  - {azs: [z1], range: 10.0.31.0/24, gateway: 10.0.31.1, cloud_properties: {name: NETWORK}}
"""
USER_ROLE = {"name": "CPI user", "type": "User"}


def run_check(capsys: pytest.CaptureFixture[str], config: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    code = check.main(["--config", str(config), "--json", *extra])
    return code, json.loads(capsys.readouterr().out)


def by_check(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["check"]: c for c in report["checks"]}


def cloud_config(tmp_path: Path, network: str) -> Path:
    path = tmp_path / "cloud-config.yml"
    path.write_text(CLOUD_CONFIG.replace("NETWORK", network))
    return path


def test_network_without_user_data_fails(capsys, simulator, tmp_path):
    config = make_cpi_config(simulator, "xen", tmp_path)
    code, report = run_check(capsys, config, "--cloud-config", str(cloud_config(tmp_path, "bosh-nouserdata-net")))
    line = by_check(report)["network default (az z1)"]
    assert code == 1 and line["status"] == "fail"
    assert "no UserData service" in line["message"] and "ConfigDrive" in line["fix"]


def test_network_with_user_data_passes(capsys, simulator, tmp_path):
    config = make_cpi_config(simulator, "xen", tmp_path)
    code, report = run_check(capsys, config, "--cloud-config", str(cloud_config(tmp_path, "bosh-net")))
    line = by_check(report)["network default (az z1)"]
    assert code == 0 and line["status"] == "pass" and "VirtualRouter" in line["message"]


def test_template_upload_allowed_for_root_admin(capsys, simulator, tmp_path):
    code, report = run_check(capsys, make_cpi_config(simulator, "xen", tmp_path))
    upload = by_check(report)["template upload"]
    assert code == 0 and upload["status"] == "pass"
    assert "getUploadParamsForTemplate allowed" in upload["message"] and "unlimited" in upload["message"]
    assert simulator.request_counts().get("listApis") == 1


def test_template_upload_passes_for_a_user_within_limits(capsys, tmp_path):
    with Simulator({"role": USER_ROLE, "resource_limits": {"template": 5}}) as sim:
        code, report = run_check(capsys, make_cpi_config(sim, "xen", tmp_path))
    upload = by_check(report)["template upload"]
    assert code == 0 and upload["status"] == "pass" and "limit 5" in upload["message"]


@pytest.mark.parametrize("limits, which", [({"template": 0}, "template"),
                                           ({"secondary_storage": 0}, "secondary storage")])
def test_template_upload_fails_on_a_zero_limit(capsys, tmp_path, limits, which):
    with Simulator({"role": USER_ROLE, "resource_limits": limits}) as sim:
        code, report = run_check(capsys, make_cpi_config(sim, "xen", tmp_path))
        assert "getUploadParamsForTemplate" not in sim.request_counts()  # read-only
    upload = by_check(report)["template upload"]
    assert code == 1 and upload["status"] == "fail"
    assert f"{which} limit is 0" in upload["message"] and upload["fix"]


@pytest.mark.parametrize("mode, command", [("direct", "getUploadParamsForTemplate"), ("url", "registerTemplate")])
def test_template_upload_denied_to_the_role_is_not_a_pass(capsys, tmp_path, mode, command):
    """The server answers ``listApis name=<denied>`` with 530 ("unable to find an api by that name"),
    exactly as for an unknown name, so a denied upload command can never pass this check."""
    with Simulator({"role": {**USER_ROLE, "denied_commands": [command]}}) as sim:
        overrides: dict[str, Any] = {"stemcell_upload_mode": mode}
        if mode == "url":
            overrides["stemcell_url_base"] = "http://127.0.0.1:1/stemcells"
        config = make_cpi_config(sim, "xen", tmp_path, cloudstack=overrides)
        code, report = run_check(capsys, config)
    upload = by_check(report)["template upload"]
    assert upload["status"] in ("warn", "fail"), upload
    assert command in upload["message"]
    assert upload["fix"]
