"""Direct upload to the secondary storage VM: another host, another certificate than the API.

The simulator serves the API on 127.0.0.1 with one test CA and the upload endpoint (the SSVM) on
127.0.0.2 with another, as a real cloud does (``ImageStoreUtil.generatePostUploadUrl``: the
SSVM's public IP, or ``a-b-c-d.<secstorage.ssl.cert.domain>``). ``create_stemcell`` runs
through the real ``cloudstack-cpi`` process; a failed upload leaves no template behind.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from test_stemcells import make_image, stemcell_props, templates
from upload_host_support import SSVM, ssvm_simulator

from cloudstack_simulator import Simulator
from cpi_framework.testing import cpi_config_dict, run_cpi


def _config(sim: Simulator, pki: dict[str, Any], tmp_path: Path, **cloudstack: Any) -> Path:
    data = cpi_config_dict(sim, "xen", cloudstack={"ca_cert": pki["api"][0].read_text(), **cloudstack})
    path = tmp_path / "cpi.json"
    path.write_text(json.dumps(data))
    return path


def _create(sim: Simulator, config: Path, tmp_path: Path) -> Any:
    return run_cpi(config, "create_stemcell", str(make_image("xen", tmp_path)), stemcell_props("xen"), timeout=60)


def _ours(sim: Simulator) -> list[dict[str, Any]]:
    return [t for t in templates(sim) if t["name"].startswith("bosh-cloudstack-xen")]


def test_upload_verified_with_upload_ca_cert(ssvm_pki, tmp_path: Path) -> None:
    with ssvm_simulator(ssvm_pki) as sim:
        config = _config(sim, ssvm_pki, tmp_path, upload_ca_cert=ssvm_pki["ssvm"][0].read_text())
        reply = _create(sim, config, tmp_path)
        assert reply.error is None, reply.error
        (template,) = _ours(sim)
        assert template["id"] == reply.result and template["isready"] is True
        upload = [e for e in sim.request_log() if e["command"] == "upload"]
        assert [e["status"] for e in upload] == [200]


def test_ssvm_of_another_ca_fails_naming_upload_ca_cert_and_cleans_up(ssvm_pki, tmp_path: Path) -> None:
    with ssvm_simulator(ssvm_pki) as sim:
        reply = _create(sim, _config(sim, ssvm_pki, tmp_path), tmp_path)
        assert reply.error["type"] == "Bosh::Clouds::CloudError"
        message = reply.error["message"]
        assert f"upload host https://{SSVM}:" in message and "not trusted by cloudstack.ca_cert" in message
        assert "set cloudstack.upload_ca_cert" in message
        assert not _ours(sim)  # the template made by getUploadParamsForTemplate was deleted
        assert not [e for e in sim.request_log() if e["command"] == "upload"]  # nothing was sent unverified


def test_certificate_for_another_name_points_at_secstorage_ssl_cert_domain(ssvm_pki, tmp_path: Path) -> None:
    with ssvm_simulator(ssvm_pki, upload="domain") as sim:
        config = _config(sim, ssvm_pki, tmp_path, upload_ca_cert=ssvm_pki["domain"][0].read_text())
        reply = _create(sim, config, tmp_path)
        message = reply.error["message"]
        assert f"does not name '{SSVM}'" in message and "secstorage.ssl.cert.domain" in message
        assert not _ours(sim)


def test_image_over_max_template_size_names_the_cloud_setting(ssvm_pki, tmp_path: Path) -> None:
    with ssvm_simulator(ssvm_pki, max_upload_size_gb=0) as sim:
        config = _config(sim, ssvm_pki, tmp_path, upload_ca_cert=ssvm_pki["ssvm"][0].read_text())
        reply = _create(sim, config, tmp_path)
        message = reply.error["message"]
        assert "Maximum file upload size exceeded" in message and "max.template.iso.size" in message
        assert not _ours(sim)
        assert "X-signature" not in reply.log and "signature" not in message.lower()
