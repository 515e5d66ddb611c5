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

import pytest
from test_stemcells import make_image, stemcell_props, templates

from cloudstack_simulator import Simulator
from cloudstack_simulator.tls import make_test_ca
from cpi_framework.testing import cpi_config_dict, run_cpi

SSVM = "127.0.0.2"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path, Path]]:
    """``(ca, cert, key)``: the API's, the SSVM's (for its IP), and one naming a domain instead."""
    return {"api": make_test_ca(tmp_path_factory.mktemp("api")),
            "ssvm": make_test_ca(tmp_path_factory.mktemp("ssvm"), host=SSVM),
            "domain": make_test_ca(tmp_path_factory.mktemp("domain"), host="*.ssvm.example")}


def _simulator(pki: dict[str, Any], upload: str = "ssvm", **templates_cfg: Any) -> Simulator:
    api, ssvm = pki["api"], pki[upload]
    return Simulator({"templates": {"upload_host": SSVM, **templates_cfg}}, tls=(api[1], api[2]),
                     upload_tls=(ssvm[1], ssvm[2]))


def _config(sim: Simulator, pki: dict[str, Any], tmp_path: Path, **cloudstack: Any) -> Path:
    data = cpi_config_dict(sim, "xen", cloudstack={"ca_cert": pki["api"][0].read_text(), **cloudstack})
    path = tmp_path / "cpi.json"
    path.write_text(json.dumps(data))
    return path


def _create(sim: Simulator, config: Path, tmp_path: Path) -> Any:
    return run_cpi(config, "create_stemcell", str(make_image("xen", tmp_path)), stemcell_props("xen"), timeout=60)


def _ours(sim: Simulator) -> list[dict[str, Any]]:
    return [t for t in templates(sim) if t["name"].startswith("bosh-cloudstack-xen")]


def test_upload_verified_with_upload_ca_cert(pki, tmp_path: Path) -> None:
    with _simulator(pki) as sim:
        config = _config(sim, pki, tmp_path, upload_ca_cert=pki["ssvm"][0].read_text())
        reply = _create(sim, config, tmp_path)
        assert reply.error is None, reply.error
        (template,) = _ours(sim)
        assert template["id"] == reply.result and template["isready"] is True
        upload = [e for e in sim.request_log() if e["command"] == "upload"]
        assert [e["status"] for e in upload] == [200]


def test_ssvm_of_another_ca_fails_naming_upload_ca_cert_and_cleans_up(pki, tmp_path: Path) -> None:
    with _simulator(pki) as sim:
        reply = _create(sim, _config(sim, pki, tmp_path), tmp_path)
        assert reply.error["type"] == "Bosh::Clouds::CloudError"
        message = reply.error["message"]
        assert f"upload host https://{SSVM}:" in message and "not trusted by cloudstack.ca_cert" in message
        assert "set cloudstack.upload_ca_cert" in message
        assert not _ours(sim)  # the template made by getUploadParamsForTemplate was deleted
        assert not [e for e in sim.request_log() if e["command"] == "upload"]  # nothing was sent unverified


def test_certificate_for_another_name_points_at_secstorage_ssl_cert_domain(pki, tmp_path: Path) -> None:
    with _simulator(pki, upload="domain") as sim:
        config = _config(sim, pki, tmp_path, upload_ca_cert=pki["domain"][0].read_text())
        reply = _create(sim, config, tmp_path)
        message = reply.error["message"]
        assert f"does not name '{SSVM}'" in message and "secstorage.ssl.cert.domain" in message
        assert not _ours(sim)


def test_image_over_max_template_size_names_the_cloud_setting(pki, tmp_path: Path) -> None:
    with _simulator(pki, max_upload_size_gb=0) as sim:
        config = _config(sim, pki, tmp_path, upload_ca_cert=pki["ssvm"][0].read_text())
        reply = _create(sim, config, tmp_path)
        message = reply.error["message"]
        assert "Maximum file upload size exceeded" in message and "max.template.iso.size" in message
        assert not _ours(sim)
        assert "X-signature" not in reply.log and "signature" not in message.lower()
