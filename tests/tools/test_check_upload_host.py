"""``cloudstack-cpi check --probe-upload``: the stemcell upload host (the SSVM) and its own certificate.

The simulator's SSVM listens on 127.0.0.2 with a certificate from another CA than the API's,
as in a real cloud. The probe asks ``getUploadParamsForTemplate`` (the only way to learn the
postURL), opens that host with the upload's TLS settings and deletes the template record.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from upload_host_support import SSVM, ssvm_simulator

from cloudstack_simulator import Simulator
from cpi_framework.testing import cpi_command, cpi_config_dict


def _check(pki: dict[str, Any], tmp_path: Path, upload: str = "ssvm", *flags: str,
           **cloudstack: Any) -> tuple[int, dict[str, dict[str, Any]], Simulator, str]:
    with ssvm_simulator(pki, upload) as sim:
        data = cpi_config_dict(sim, "xen", cloudstack={"ca_cert": pki["api"][0].read_text(), **cloudstack})
        config = tmp_path / "cpi.json"
        config.write_text(json.dumps(data))
        proc = subprocess.run([*cpi_command(), "check", "--config", str(config), "--json", *flags],
                              capture_output=True, text=True, timeout=120)
        report = json.loads(proc.stdout)
        left = [t for t in sim.inventory()["templates"] if t["name"].startswith("bosh-cpi-check-")]
        assert not left, left  # the probe's template record is deleted whatever the outcome
        return proc.returncode, {c["check"]: c for c in report["checks"]}, sim, proc.stdout + proc.stderr


def test_without_the_flag_check_stays_read_only_and_says_how_to_probe(ssvm_pki, tmp_path: Path) -> None:
    code, checks, sim, _ = _check(ssvm_pki, tmp_path)
    assert code == 0
    assert checks["upload host"]["status"] == "skip" and "--probe-upload" in checks["upload host"]["message"]
    assert "getUploadParamsForTemplate" not in sim.request_counts()


def test_probe_fails_naming_upload_ca_cert_when_only_the_api_ca_is_known(ssvm_pki, tmp_path: Path) -> None:
    code, checks, sim, output = _check(ssvm_pki, tmp_path, "ssvm", "--probe-upload")
    line = checks["upload host (zone-xen)"]
    assert code == 1 and line["status"] == "fail"
    assert f"https://{SSVM}:" in line["message"] and "not trusted by cloudstack.ca_cert" in line["message"]
    assert line["fix"].startswith("set cloudstack.upload_ca_cert")
    assert sim.request_counts().get("deleteTemplate") == 1
    assert "upload" not in sim.request_counts()  # a handshake and GET /, never the one-time upload URL


def test_probe_passes_with_upload_ca_cert(ssvm_pki, tmp_path: Path) -> None:
    code, checks, _, output = _check(ssvm_pki, tmp_path, "ssvm", "--probe-upload",
                                     upload_ca_cert=ssvm_pki["ssvm"][0].read_text())
    assert code == 0, checks
    line = checks["upload host (zone-xen)"]
    assert line["status"] == "pass" and "TLS verified with cloudstack.upload_ca_cert" in line["message"]
    assert "X-signature" not in output


def test_probe_tells_a_name_mismatch_from_an_unknown_ca(ssvm_pki, tmp_path: Path) -> None:
    code, checks, _, _ = _check(ssvm_pki, tmp_path, "domain", "--probe-upload",
                                upload_ca_cert=ssvm_pki["domain"][0].read_text())
    line = checks["upload host (zone-xen)"]
    assert code == 1 and f"does not name '{SSVM}'" in line["message"]
    assert "secstorage.ssl.cert.domain" in line["fix"] and "no CA setting" in line["fix"]


def test_probe_warns_when_the_upload_host_takes_plain_http(tmp_path: Path) -> None:
    with Simulator() as sim:  # no certificate: postURL is http://, like use.https.to.upload=false
        config = tmp_path / "cpi.json"
        config.write_text(json.dumps(cpi_config_dict(sim, "xen")))
        proc = subprocess.run([*cpi_command(), "check", "--config", str(config), "--json", "--probe-upload"],
                              capture_output=True, text=True, timeout=120)
        line = {c["check"]: c for c in json.loads(proc.stdout)["checks"]}["upload host (zone-xen)"]
        assert line["status"] == "warn" and "plain HTTP" in line["message"]
        assert "use.https.to.upload" in line["fix"]
        assert sim.request_counts().get("deleteTemplate") == 1
