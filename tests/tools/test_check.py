"""``cloudstack-cpi check`` against the simulator: each diagnosable failure injected, one at a time."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from check_support import CLOUD_CONFIG_WITH_VIP as CLOUD_CONFIG

from cpi_framework.testing import cpi_command, cpi_config_dict, make_cpi_config
from cpi_framework.tools import check


def run_check(capsys: pytest.CaptureFixture[str], config: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    code = check.main(["--config", str(config), "--json", *extra])
    out = capsys.readouterr().out
    return code, json.loads(out)


def by_check(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["check"]: c for c in report["checks"]}


def failures(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["check"]: c for c in report["checks"] if c["status"] == "fail"}


def write_cloud_config(tmp_path: Path, text: str = CLOUD_CONFIG) -> Path:
    path = tmp_path / "cloud-config.yml"
    path.write_text(text)
    return path


def test_healthy_cloud_passes_for_each_hypervisor(capsys, simulator, hypervisor, cpi_config, tmp_path):
    zone = {"xen": "zone-xen", "kvm": "zone-kvm", "vmware": "zone-vmware"}[hypervisor]
    cloud = write_cloud_config(tmp_path, CLOUD_CONFIG.replace("zone-xen", zone))
    code, report = run_check(capsys, cpi_config, "--cloud-config", str(cloud))
    assert failures(report) == {}
    assert code == 0 and report["ok"] is True
    checks = by_check(report)
    for name in ("config", "plugin", "keys", "zone", "key pair", "cpi.default_disk_offering", "network default (az z1)",
                 "vm_type default", "disk_type default", "az z1", "os type", "api limits"):
        assert checks[name]["status"] == "pass", checks[name]
    assert checks["endpoint"]["status"] == "warn"  # plain HTTP
    assert "user data via" in checks["network default (az z1)"]["message"]


def test_human_output_marks_each_line_and_exit_code_of_the_real_command(simulator, tmp_path):
    config = make_cpi_config(simulator, "xen", tmp_path, cloudstack={"default_zone": "zone-nowhere"})
    proc = subprocess.run([*cpi_command(), "check", "--config", str(config)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 1
    assert "PASS  config" in proc.stdout
    assert "FAIL  zone" in proc.stdout and "zone-nowhere" in proc.stdout
    assert "fix:" in proc.stdout
    assert simulator.secret_key not in proc.stdout + proc.stderr


def test_invalid_config_names_each_key(capsys, tmp_path):
    config = tmp_path / "cpi.json"
    config.write_text(json.dumps({"cloudstack": {"endpoint": "http://127.0.0.1:9/client/api", "api_key": "k" * 8,
                                                 "default_zone": "z", "webdav_port": 1}}))
    code, report = run_check(capsys, config)
    assert code == 2  # a config error, as for every tool
    messages = " ".join(c["message"] for c in report["checks"])
    assert "cloudstack.secret_access_key: missing required key" in messages
    assert "cloudstack.webdav_port: unknown key" in messages
    assert [c["check"] for c in report["checks"]] == ["config", "config"]  # no cloud checks on a broken file


def test_bad_secret_key_is_a_401_and_never_printed(capsys, simulator, tmp_path):
    wrong = "wrong-secret-0123456789"
    config = make_cpi_config(simulator, "xen", tmp_path, cloudstack={"secret_access_key": wrong})
    code, report = run_check(capsys, config)
    assert code == 1
    keys = failures(report)["keys"]
    assert "rejected" in keys["message"] and "secret_access_key" in keys["fix"]
    assert by_check(report)["endpoint"]["status"] in {"pass", "warn"}
    assert wrong not in json.dumps(report)
    assert "zone" not in by_check(report)  # nothing more can be checked without working keys


def test_unreachable_endpoint(capsys, simulator, tmp_path):
    config = make_cpi_config(simulator, "xen", tmp_path, cloudstack={
        "endpoint": "http://127.0.0.1:9/client/api", "connect_timeout": 1})
    code, report = run_check(capsys, config)
    assert code == 1
    assert "cannot reach" in failures(report)["endpoint"]["message"]


def test_https_endpoint_on_a_plain_http_server_is_not_called_a_trust_problem(capsys, simulator, tmp_path):
    config = make_cpi_config(simulator, "xen", tmp_path, cloudstack={
        "endpoint": simulator.endpoint.replace("http://", "https://"), "connect_timeout": 5})
    code, report = run_check(capsys, config)
    assert code == 1
    endpoint = failures(report)["endpoint"]
    assert "does not speak TLS" in endpoint["message"] and "plain HTTP" in endpoint["message"]
    assert "http://" in endpoint["fix"] and "does not help" in endpoint["fix"]


def test_missing_mbus_and_blobstore_are_warnings_that_say_when_that_is_fine(capsys, simulator, tmp_path):
    data = cpi_config_dict(simulator, "xen")
    del data["cpi"]["agent"], data["cpi"]["blobstore"]
    config = tmp_path / "cpi.json"
    config.write_text(json.dumps(data))
    code, report = run_check(capsys, config)
    assert code == 0, failures(report)  # the director may supply both
    mbus, blobstore = by_check(report)["agent mbus"], by_check(report)["agent blobstore"]
    assert mbus["status"] == blobstore["status"] == "warn"
    assert "cpi.agent.mbus is not set" in mbus["message"] and "env.bosh.mbus.urls" in mbus["fix"]
    assert "cpi.blobstore.provider is not set" in blobstore["message"] and "env.bosh.blobstores" in blobstore["fix"]
    assert "director's CPI context" in mbus["fix"]


def test_uninterpolated_cloud_config_says_to_interpolate_first(capsys, simulator, cpi_config):
    shipped = Path(__file__).resolve().parents[2] / "release" / "manifests" / "cloudstack" / "cloud-config.yml"
    code, report = run_check(capsys, cpi_config, "--cloud-config", str(shipped))
    assert code == 1
    line = failures(report)["cloud-config"]
    assert "still has variables ((compute_offering))" in line["message"]
    assert "bosh int" in line["fix"] and "-l vars.yml" in line["fix"]
    assert not [c for c in report["checks"] if c["check"].startswith(("az ", "network "))]  # nothing by placeholder


def test_wrong_zone_lists_available_zones(capsys, simulator, tmp_path):
    config = make_cpi_config(simulator, "xen", tmp_path, cloudstack={"default_zone": "zone-nowhere"})
    code, report = run_check(capsys, config)
    assert code == 1
    zone = failures(report)["zone"]
    assert "zone-nowhere" in zone["message"] and "zone-kvm" in zone["message"]


def test_hypervisor_mismatch_suggests_the_matching_plugin(capsys, simulator, tmp_path):
    config = make_cpi_config(simulator, "kvm", tmp_path, cloudstack={"default_zone": "zone-xen"})
    code, report = run_check(capsys, config)
    assert code == 1
    zone = failures(report)["zone"]
    assert "XenServer" in zone["message"] and "KVM" in zone["message"]
    assert "cloudstack.hypervisor to xen" in zone["fix"]


def test_missing_offerings_and_fixed_size_warnings(capsys, simulator, tmp_path):
    config = make_cpi_config(simulator, "xen", tmp_path, cpi={"default_disk_offering": "disk-missing",
                                                              "default_ephemeral_disk_offering": "disk-small"})
    code, report = run_check(capsys, config)
    assert code == 1
    missing = failures(report)["cpi.default_disk_offering"]
    assert "disk-missing" in missing["message"] and "disk-custom" in missing["message"]
    assert by_check(report)["cpi.default_ephemeral_disk_offering"]["status"] == "warn"


def test_missing_key_pair(capsys, simulator, tmp_path):
    config = make_cpi_config(simulator, "xen", tmp_path, cloudstack={"default_key_name": "no-such-key"})
    code, report = run_check(capsys, config)
    assert code == 1
    assert "no-such-key" in failures(report)["key pair"]["message"]


def test_cloud_config_problems(capsys, simulator, tmp_path):
    text = CLOUD_CONFIG.replace("name: bosh-net}", "name: no-such-net}").replace("compute_offering: small",
                                                                                 "compute_offering: tiny")
    text = text.replace("disk_offering: disk-custom", "disk_offering: disk-small")
    config = make_cpi_config(simulator, "xen", tmp_path)
    code, report = run_check(capsys, config, "--cloud-config", str(write_cloud_config(tmp_path, text)))
    assert code == 1
    failed = failures(report)
    assert "no-such-net" in failed["network default (az z1)"]["message"]
    assert "bosh-net" in failed["network default (az z1)"]["message"]  # what exists
    assert "tiny" in failed["vm_type default"]["message"]
    assert "smaller than" in failed["disk_type default"]["message"]  # 10 GB fixed < 20480 MB


def test_az_in_a_zone_of_another_hypervisor(capsys, simulator, tmp_path):
    config = make_cpi_config(simulator, "xen", tmp_path)
    cloud = write_cloud_config(tmp_path, CLOUD_CONFIG.replace("zone: zone-xen", "zone: zone-kvm"))
    code, report = run_check(capsys, config, "--cloud-config", str(cloud))
    assert code == 1
    assert "KVM" in failures(report)["az z1"]["message"]


def test_network_without_user_data(capsys, simulator, tmp_path, monkeypatch):
    from cloudstack_simulator import views

    original = views.network_view

    def without_userdata(st, net):  # the simulator cannot yet configure an offering without UserData
        view = original(st, net)
        view["service"] = [s for s in view["service"] if s["name"] != "UserData"]
        return view

    monkeypatch.setattr(views, "network_view", without_userdata)
    config = make_cpi_config(simulator, "xen", tmp_path)
    code, report = run_check(capsys, config, "--cloud-config", str(write_cloud_config(tmp_path)))
    assert code == 1
    assert "no UserData service" in failures(report)["network default (az z1)"]["message"]


def test_unreadable_cloud_config(capsys, simulator, tmp_path):
    config = make_cpi_config(simulator, "xen", tmp_path)
    code, report = run_check(capsys, config, "--cloud-config", str(tmp_path / "missing.yml"))
    assert code == 1
    assert "cannot read cloud-config" in failures(report)["cloud-config"]["message"]


def test_api_throttling_is_reported(capsys, tmp_path):
    from cloudstack_simulator import Simulator

    with Simulator({"api": {"throttle_rps": 50}}) as sim:
        code, report = run_check(capsys, make_cpi_config(sim, "xen", tmp_path))
    assert code == 0
    assert "50 requests per 1 s" in by_check(report)["api limits"]["message"]


def test_template_upload_permission_undecidable_is_a_warning(capsys, simulator, tmp_path):
    simulator.faults.fail_next("listApis", errorcode=432, errortext="The given command does not exist")
    code, report = run_check(capsys, make_cpi_config(simulator, "xen", tmp_path))
    upload = by_check(report)["template upload"]
    assert upload["status"] == "warn" and "getUploadParamsForTemplate" in upload["message"]
    assert code == 0


def test_check_is_read_only(capsys, simulator, tmp_path):
    config = make_cpi_config(simulator, "xen", tmp_path)
    run_check(capsys, config, "--cloud-config", str(write_cloud_config(tmp_path)))
    commands = set(simulator.request_counts())
    assert commands and all(c.startswith(("list", "get", "query")) for c in commands), commands
    assert "getUploadParamsForTemplate" not in commands


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA with a server certificate for 127.0.0.1, and the certificate of an unrelated CA."""
    from cloudstack_simulator.tls import make_test_ca

    good = make_test_ca(tmp_path_factory.mktemp("ca"))
    other = make_test_ca(tmp_path_factory.mktemp("other-ca"))
    return good, other[0]


class TestTls:
    @pytest.fixture
    def tls_sim(self, pki):
        from cloudstack_simulator import Simulator

        (_ca, cert, key), _other = pki
        with Simulator(tls=(cert, key)) as sim:
            yield sim

    def config(self, sim, tmp_path: Path, ca: Path | None) -> Path:
        extra = {"ca_cert": ca.read_text()} if ca else {}
        data = cpi_config_dict(sim, "xen", cloudstack={"connect_timeout": 5, **extra})
        path = tmp_path / "cpi-tls.json"
        path.write_text(json.dumps(data))
        return path

    def test_verified_with_ca_cert(self, capsys, tls_sim, pki, tmp_path):
        (ca, _cert, _key), _other = pki
        code, report = run_check(capsys, self.config(tls_sim, tmp_path, ca))
        assert code == 0, failures(report)
        assert by_check(report)["endpoint"]["status"] == "pass"
        assert "TLS verified with cloudstack.ca_cert" in by_check(report)["endpoint"]["message"]

    def test_unknown_ca_hints_at_ca_cert(self, capsys, tls_sim, tmp_path):
        code, report = run_check(capsys, self.config(tls_sim, tmp_path, None))
        assert code == 1
        endpoint = failures(report)["endpoint"]
        assert "certificate verification failed" in endpoint["message"]
        assert "cloudstack.ca_cert" in endpoint["fix"]

    def test_wrong_ca_cert(self, capsys, tls_sim, pki, tmp_path):
        _good, other = pki
        code, report = run_check(capsys, self.config(tls_sim, tmp_path, other))
        assert code == 1
        assert "does not verify" in failures(report)["endpoint"]["fix"]


@pytest.mark.parametrize("command", ["check", "orphans", "call", "demo"])
def test_every_command_has_help(command):
    proc = subprocess.run([*cpi_command(), command, "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert f"cloudstack-cpi {command}" in proc.stdout


@pytest.mark.parametrize(("version", "status", "mentions"), [
    ("4.5.2", "warn", ("CloudStack 4.5.2", "URL registration", "resizeVolume", "answer 432",
                       "cpi.stemcell_serve_address", "cloudstack.version")),
    ("4.11.3.0", "pass", ("CloudStack 4.11.3.0", "direct upload", "resizeVolume", "401, like wrong keys",
                          "cloudstack.version")),
    ("4.20.1.0", "pass", ("CloudStack 4.20.1.0", "direct upload", "changeOfferingForVolume")),
])
def test_check_names_the_version_and_what_it_implies(capsys, tmp_path, version, status, mentions):
    from cloudstack_simulator import Simulator

    with Simulator({"cloudstack_version": version}) as sim:
        code, report = run_check(capsys, make_cpi_config(sim, "xen", tmp_path))
    line = by_check(report)["version"]
    assert line["status"] == status, line
    for text in mentions:
        assert text in line["message"] + line["fix"], (text, line)
    assert code == 0
    upload = by_check(report)["template upload"]
    assert ("registerTemplate" if version == "4.5.2" else "getUploadParamsForTemplate") in upload["message"]


def test_check_fails_direct_mode_on_a_cloud_without_direct_upload(capsys, tmp_path):
    from cloudstack_simulator import Simulator

    with Simulator({"cloudstack_version": "4.5.2"}) as sim:
        config = make_cpi_config(sim, "xen", tmp_path, cloudstack={"stemcell_upload_mode": "direct", "version": "4.9"})
        code, report = run_check(capsys, config)
    line = by_check(report)["version"]
    assert code == 1 and line["status"] == "fail"
    assert "stemcell_upload_mode to auto or url" in line["fix"]
    assert "cloudstack.version is 4.9 but the cloud runs 4.5.2" in line["fix"]
