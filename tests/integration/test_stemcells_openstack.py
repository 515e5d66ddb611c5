"""OpenStack-format KVM stemcells and stemcell hypervisor aliases, through the real CPI process.

An OpenStack stemcell's ``image`` is a gzipped tarball holding the qcow2 ``root.img``; the kvm
plugin names that member and the CPI streams it out of the archive, so the simulator's
secondary storage (checking content: a ``.qcow2`` must start with the qcow2 magic) records the
member's bytes, never the tarball's. The url-mode variants are in ``test_stemcells_url.py``.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path
from typing import Any

import pytest
from test_stemcells import make_image, pack_image, qcow2_bytes, stemcell_props, templates

from cloudstack_simulator import Simulator
from cpi_framework.services.upload import human_size
from cpi_framework.testing import CpiResponse, make_cpi_config, run_cpi

ROOT = qcow2_bytes(8 << 20, b"root.img of an OpenStack stemcell" * 4096)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def kvm(tmp_path: Path):  # noqa: ANN201 - (simulator, run) for the kvm zone, checking uploaded content
    with Simulator({"templates": {"check_content": True}}) as sim:
        config = make_cpi_config(sim, "kvm", tmp_path)

        def run(image: Path, **props: Any) -> CpiResponse:
            return run_cpi(config, "create_stemcell", str(image), stemcell_props("kvm", **props), api_version=2)

        yield sim, run


def test_root_img_is_streamed_out_of_the_image_tarball(kvm, tmp_path: Path) -> None:
    sim, run = kvm
    image = pack_image(tmp_path / "image", [("./root.img", ROOT)])
    reply = run(image)
    assert reply.error is None, reply.error
    (template,) = templates(sim, id=reply.result)
    assert template["isready"] is True and template["format"] == "QCOW2"
    assert template["upload"]["bytes"] == len(ROOT) and template["upload"]["sha256"] == digest(ROOT)
    assert template["upload"]["filename"].endswith(".qcow2")
    assert f"'root.img' ({human_size(len(ROOT))}) streamed out of the archive {image} (gzip)" in reply.log


@pytest.mark.parametrize("mode", ["w:bz2", "w"])
def test_other_archive_compressions_and_members_before_root_img(kvm, tmp_path: Path, mode: str) -> None:
    sim, run = kvm
    image = pack_image(tmp_path / "image", [("packages.txt", b"ii bash\n" * 100), ("root.img", ROOT)], mode)
    reply = run(image)
    assert reply.error is None, reply.error
    (template,) = templates(sim, id=reply.result)
    assert template["upload"]["sha256"] == digest(ROOT)


def test_an_archive_without_root_img_is_a_cloud_error_before_anything_is_made(kvm, tmp_path: Path) -> None:
    sim, run = kvm
    image = pack_image(tmp_path / "image", [("disk.qcow2", ROOT)])
    reply = run(image)
    assert reply.error["type"] == "Bosh::Clouds::CloudError"
    assert "'root.img'" in reply.error["message"] and str(image) in reply.error["message"]
    assert "disk.qcow2" in reply.error["message"]
    assert "getUploadParamsForTemplate" not in sim.request_counts()
    assert not [t for t in templates(sim) if t["name"].startswith("bosh-cloudstack-kvm")]


def test_an_empty_root_img_is_a_cloud_error(kvm, tmp_path: Path) -> None:
    sim, run = kvm
    reply = run(pack_image(tmp_path / "image", [("root.img", b"")]))
    assert reply.error["type"] == "Bosh::Clouds::CloudError" and "'root.img'" in reply.error["message"]
    assert "is empty" in reply.error["message"]
    assert "getUploadParamsForTemplate" not in sim.request_counts()


def test_a_gzipped_disk_that_is_no_tarball_is_a_cloud_error(kvm, tmp_path: Path) -> None:
    sim, run = kvm
    image = tmp_path / "image"
    image.write_bytes(gzip.compress(ROOT))
    reply = run(image)
    assert reply.error["type"] == "Bosh::Clouds::CloudError"
    assert "not a tar archive holding 'root.img'" in reply.error["message"]
    assert "getUploadParamsForTemplate" not in sim.request_counts()


def test_a_bare_qcow2_image_is_uploaded_whole(kvm, tmp_path: Path) -> None:
    sim, run = kvm
    image = tmp_path / "image"
    image.write_bytes(ROOT)
    reply = run(image)
    assert reply.error is None, reply.error
    (template,) = templates(sim, id=reply.result)
    assert template["upload"]["sha256"] == digest(ROOT)
    assert "is not a tar archive; taking it whole" in reply.log


# -- hypervisor aliases ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "hypervisor, stemcell_hypervisor",
    [("vmware", "esxi"), ("vmware", "vSphere"), ("xen", "XenServer"), ("xen", "xcp-ng"), ("kvm", "QEMU"),
     ("kvm", "libvirt"), ("kvm", "KVM")],
)
def test_a_stemcell_names_its_hypervisor_by_an_alias(hypervisor: str, stemcell_hypervisor: str,
                                                     tmp_path: Path) -> None:
    with Simulator() as sim:
        config = make_cpi_config(sim, hypervisor, tmp_path)
        props = {**stemcell_props(hypervisor), "hypervisor": stemcell_hypervisor}
        reply = run_cpi(config, "create_stemcell", str(make_image(hypervisor, tmp_path)), props)
        assert reply.error is None, reply.error
        assert templates(sim, id=reply.result)[0]["isready"] is True


def test_an_alias_of_another_hypervisor_is_refused_listing_the_accepted_ones(tmp_path: Path) -> None:
    with Simulator() as sim:
        config = make_cpi_config(sim, "kvm", tmp_path)
        reply = run_cpi(config, "create_stemcell", str(make_image("kvm", tmp_path)),
                        {**stemcell_props("kvm"), "hypervisor": "esxi"})
        assert reply.error["type"] == "Bosh::Clouds::CpiError"
        assert "hypervisor 'esxi' (expected kvm or libvirt or qemu)" in reply.error["message"]
        assert "getUploadParamsForTemplate" not in sim.request_counts()
