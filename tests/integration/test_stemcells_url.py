"""create_stemcell in url mode: the CPI's own short-lived server or an operator's server.

xen images are served as they are; kvm's OpenStack images have ``root.img`` streamed out of
the ``image`` tarball by the CPI's server, and the operator serves it extracted.
"""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_stemcells import (
    make_image,
    pack_image,
    qcow2_bytes,
    sha256,
    stemcell_props,
    templates,
)

from cloudstack_simulator import Simulator
from cpi_framework.testing import make_cpi_config, run_cpi

ROOT = qcow2_bytes(8 << 20, b"root.img of an OpenStack stemcell" * 4096)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_url_mode_serves_the_image_from_a_short_lived_cpi_server(tmp_path: Path) -> None:
    with Simulator() as sim:
        config = make_cpi_config(sim, "xen", tmp_path, cloudstack={"stemcell_upload_mode": "url"},
                                 cpi={"stemcell_serve_address": "127.0.0.1:0"})
        image = make_image("xen", tmp_path)
        reply = run_cpi(config, "create_stemcell", str(image), stemcell_props("xen"))
        assert reply.error is None, reply.error
        (template,) = templates(sim, id=reply.result)
        assert template["isready"] is True
        assert template["upload"]["source"] == "url" and template["upload"]["sha256"] == sha256(image)
        assert template["upload"]["filename"].endswith(".vhd.bz2")
        assert "getUploadParamsForTemplate" not in sim.request_counts()
        assert "Stopped serving the stemcell image" in reply.log


class _Files(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An operator's HTTP server on 127.0.0.1 serving a directory."""
    root = tmp_path / "www"
    root.mkdir()
    handler = lambda *a, **kw: _Files(*a, directory=str(root), **kw)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/stemcells", root
    finally:
        server.shutdown()
        server.server_close()


def test_url_mode_registers_the_operators_url(tmp_path: Path, file_server) -> None:
    base, root = file_server
    (root / "stemcells").mkdir()
    image = make_image("xen", tmp_path)
    served = root / "stemcells" / "bosh-cloudstack-xen-ubuntu-jammy-go_agent-1.181.vhd.bz2"
    served.write_bytes(image.read_bytes())
    with Simulator() as sim:
        config = make_cpi_config(sim, "xen", tmp_path, cloudstack={"stemcell_upload_mode": "url",
                                                                   "stemcell_url_base": base + "/"})
        reply = run_cpi(config, "create_stemcell", str(image), stemcell_props("xen"))
        assert reply.error is None, reply.error
        (template,) = templates(sim, id=reply.result)
        assert template["url"] == f"{base}/{served.name}" and template["isready"] is True


def test_url_mode_with_an_unreachable_image_fails_with_the_download_error(tmp_path: Path, file_server) -> None:
    base, _ = file_server
    with Simulator() as sim:
        config = make_cpi_config(sim, "xen", tmp_path, cloudstack={"stemcell_upload_mode": "url",
                                                                   "stemcell_url_base": base})
        reply = run_cpi(config, "create_stemcell", str(make_image("xen", tmp_path)), stemcell_props("xen"))
        assert reply.error["type"] == "Bosh::Clouds::CloudError"
        assert "404" in reply.error["message"]
        assert not [t for t in templates(sim) if t["name"].startswith("bosh-cloudstack-xen")]


def test_url_mode_without_an_image_source_is_a_clear_error(tmp_path: Path) -> None:
    with Simulator() as sim:
        config = make_cpi_config(sim, "xen", tmp_path, cloudstack={"stemcell_upload_mode": "url"})
        reply = run_cpi(config, "create_stemcell", str(make_image("xen", tmp_path)), stemcell_props("xen"))
        assert reply.error["type"] == "Bosh::Clouds::CloudError"
        assert "stemcell_url_base" in reply.error["message"] and "stemcell_serve_address" in reply.error["message"]
        assert "registerTemplate" not in sim.request_counts()


# -- kvm: root.img out of the OpenStack image --------------------------------------------------


def test_url_mode_serves_root_img_from_the_cpis_own_server(tmp_path: Path) -> None:
    with Simulator({"templates": {"check_content": True}}) as sim:
        config = make_cpi_config(sim, "kvm", tmp_path, cloudstack={"stemcell_upload_mode": "url"},
                                 cpi={"stemcell_serve_address": "127.0.0.1:0"})
        image = pack_image(tmp_path / "image", [("root.img", ROOT)])
        reply = run_cpi(config, "create_stemcell", str(image), stemcell_props("kvm"))
        assert reply.error is None, reply.error
        (template,) = templates(sim, id=reply.result)
        assert template["upload"]["source"] == "url" and template["upload"]["filename"].endswith(".qcow2")
        assert template["upload"]["bytes"] == len(ROOT) and template["upload"]["sha256"] == digest(ROOT)
        assert "getUploadParamsForTemplate" not in sim.request_counts()


def test_url_mode_with_an_operator_base_registers_the_extracted_image(tmp_path: Path, file_server) -> None:
    base, root = file_server
    (root / "stemcells").mkdir()
    served = root / "stemcells" / "bosh-cloudstack-kvm-ubuntu-jammy-go_agent-1.181.qcow2"
    served.write_bytes(ROOT)  # what the operator extracted from the stemcell's image
    with Simulator({"templates": {"check_content": True}}) as sim:
        config = make_cpi_config(sim, "kvm", tmp_path, cloudstack={"stemcell_upload_mode": "url",
                                                                   "stemcell_url_base": base})
        reply = run_cpi(config, "create_stemcell", str(make_image("kvm", tmp_path)), stemcell_props("kvm"))
        assert reply.error is None, reply.error
        (template,) = templates(sim, id=reply.result)
        assert template["url"] == f"{base}/{served.name}" and template["upload"]["sha256"] == digest(ROOT)
        assert "must serve 'root.img' extracted from the stemcell image" in reply.log
