"""create_stemcell / delete_stemcell through the real CPI process against the simulator.

Direct upload of real (small) images per hypervisor, light stemcells, error and timeout
states with cleanup, idempotent deletes, v3 tags, ``cpitemplate-`` CIDs of the earlier CPIs and multi-zone
registration; the image builders the other stemcell test modules share. URL registration is
in ``test_stemcells_url.py``, OpenStack images and hypervisor aliases in
``test_stemcells_openstack.py``, the memory tests in ``test_stemcells_memory.py``.
"""

from __future__ import annotations

import bz2
import hashlib
import io
import re
import struct
import tarfile
from pathlib import Path
from typing import Any

import pytest

from cloudstack_simulator import Simulator
from cloudstack_simulator.config import load_config
from cpi_framework.services.upload import human_size
from cpi_framework.testing import DIRECTOR_UUID, CpiResponse, make_cpi_config, run_cpi

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SUFFIX = {"xen": ".vhd.bz2", "kvm": ".qcow2", "vmware": ".ova"}
FORMAT = {"xen": "VHD", "kvm": "QCOW2", "vmware": "OVA"}


# -- images and properties -------------------------------------------------------------------


def vhd_footer(size: int) -> bytes:
    """A fixed-disk VHD footer (512 bytes, big-endian fields, "conectix" cookie)."""
    footer = bytearray(512)
    struct.pack_into(">8sIIQ4s4s4sQQI", footer, 0, b"conectix", 2, 0x00010000, 0xFFFFFFFFFFFFFFFF, b"pycs",
                     b"\x00\x01\x00\x00", b"Wi2k", size, size, 2)
    checksum = ~sum(footer) & 0xFFFFFFFF
    struct.pack_into(">I", footer, 64, checksum)
    return bytes(footer)


def qcow2_bytes(size: int = 1 << 20, body: bytes = bytes(4096)) -> bytes:
    """A qcow2 v3 header for a ``size``-byte disk, then ``body``."""
    return struct.pack(">4sIQIIQIIQQIIQ", b"QFI\xfb", 3, 0, 0, 16, size, 0, 1, 0x30000, 0x10000, 1, 0, 0) + body


def pack_image(path: Path, members: list[tuple[str, bytes]], mode: str = "w:gz") -> Path:
    """An OpenStack stemcell's ``image``: a (gzipped) tarball, as ``tar zcf stemcell/image root.img`` makes it."""
    with tarfile.open(path, mode) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def make_image(hypervisor: str, directory: Path, size: int = 1 << 20) -> Path:
    """A small image in the hypervisor's stemcell format: bz2 VHD, an OpenStack ``image`` tarball holding a
    qcow2 ``root.img`` (what :func:`disk_bytes` reads back), or an OVA tar."""
    path = directory / "image"
    if hypervisor == "xen":
        path.write_bytes(bz2.compress(bytes(size) + vhd_footer(size)))
    elif hypervisor == "kvm":
        pack_image(path, [("root.img", qcow2_bytes(size, b"kvm-root-disk" * 512))])
    else:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            for name, data in (("stemcell.ovf", b"<?xml version='1.0'?><Envelope/>"), ("disk1.vmdk", bytes(4096))):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        path.write_bytes(buffer.getvalue())
    return path


def stemcell_props(hypervisor: str, **extra: Any) -> dict[str, Any]:
    infrastructure, disk_format = {"xen": ("cloudstack", "vhdx"), "kvm": ("openstack", "qcow2"),
                                   "vmware": ("cloudstack", "ova")}[hypervisor]
    props = {"name": f"bosh-cloudstack-{hypervisor}-ubuntu-jammy-go_agent", "version": "1.181",
             "infrastructure": infrastructure, "hypervisor": hypervisor, "disk": 5120,
             "disk_format": disk_format, "container_format": "bare", "os_type": "linux", "os_distro": "ubuntu",
             "architecture": "x86_64", "auto_disk_config": True}
    props.update(extra)
    return props


def templates(sim: Simulator, **match: Any) -> list[dict[str, Any]]:
    return [t for t in sim.inventory()["templates"] if all(t.get(k) == v for k, v in match.items())]


def tags(template: dict[str, Any]) -> dict[str, str]:
    return {t["key"]: t["value"] for t in template.get("tags") or []}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def disk_bytes(hypervisor: str, image: Path) -> bytes:
    """What reaches CloudStack for ``image``: kvm's ``root.img`` member, else the file itself."""
    if hypervisor != "kvm":
        return image.read_bytes()
    with tarfile.open(image) as tar:
        member = tar.extractfile("root.img")
        assert member is not None
        return member.read()


@pytest.fixture
def cpi():  # noqa: ANN201 - the kit's runner, with the config each test builds for its own simulator
    def call(method: str, *args: Any, config: Path, api_version: int | None = None, timeout: float = 60) -> CpiResponse:
        return run_cpi(config, method, *args, api_version=api_version, timeout=timeout)

    return call


@pytest.fixture
def xen(simulator: Simulator, tmp_path: Path):  # noqa: ANN201 - a small facade keeps the tests short
    """(simulator, config path, image path) for the xen plugin."""
    return simulator, make_cpi_config(simulator, "xen", tmp_path), make_image("xen", tmp_path)


# -- direct upload -------------------------------------------------------------------------------


@pytest.mark.parametrize("hypervisor", ["xen", "kvm", "vmware"])
def test_direct_upload_registers_a_ready_template_per_hypervisor(hypervisor: str, tmp_path: Path, cpi) -> None:
    with Simulator({"templates": {"check_content": True}}) as sim:
        config = make_cpi_config(sim, hypervisor, tmp_path)
        image = make_image(hypervisor, tmp_path)
        reply = cpi("create_stemcell", str(image), stemcell_props(hypervisor), api_version=2, config=config)
        assert reply.error is None, reply.error
        assert UUID.match(reply.result)
        (template,) = templates(sim, id=reply.result)
        assert template["isready"] is True and template["status"] == "Download Complete"
        assert template["format"] == FORMAT[hypervisor]
        disk = disk_bytes(hypervisor, image)
        assert template["upload"]["sha256"] == hashlib.sha256(disk).hexdigest()
        assert template["upload"]["bytes"] == len(disk)
        assert template["upload"]["filename"].endswith(SUFFIX[hypervisor])
        assert template["name"].startswith(f"bosh-cloudstack-{hypervisor}-ubuntu-jammy-go_agent-1.181-")
        assert "1.181" in template["displaytext"]
        assert tags(template).items() >= {"bosh-cpi": "cloudstack", "bosh-role": "stemcell",
                                          "bosh-director-uuid": DIRECTOR_UUID}.items()
        # a quick small upload logs its closing line only (no progress lines in an upload's first 2 s)
        closing = f"Uploaded {human_size(len(disk))} to zone zone-{hypervisor} in "
        assert closing in reply.log and "upload successful." in reply.log, reply.log
        counts = sim.request_counts()
        assert counts["getUploadParamsForTemplate"] == 1 and counts["upload"] == 1


def test_template_parameters_follow_plugin_and_config(tmp_path: Path, cpi) -> None:
    with Simulator() as sim:
        config = make_cpi_config(sim, "xen", tmp_path, cloudstack={"stemcell_public_visibility": True,
                                                                   "stemcell_requires_hvm": True})
        reply = cpi("create_stemcell", str(make_image("xen", tmp_path)), stemcell_props("xen"), config=config)
        assert reply.error is None, reply.error
        (template,) = templates(sim, id=reply.result)
        assert template["ispublic"] is True and template["requireshvm"] is True
        assert template["ostypename"] == "Other PV (64-bit)" and template["hypervisor"] == "XenServer"
        assert template["isextractable"] is True


def test_two_uploads_of_one_stemcell_get_distinct_names(xen, cpi) -> None:
    sim, config, image = xen
    first = cpi("create_stemcell", str(image), stemcell_props("xen"), config=config)
    second = cpi("create_stemcell", str(image), stemcell_props("xen"), config=config)
    assert first.result != second.result
    names = {t["name"] for t in templates(sim) if t["id"] in (first.result, second.result)}
    assert len(names) == 2


def test_upload_refused_by_the_server_deletes_the_template(tmp_path: Path, cpi) -> None:
    with Simulator({"templates": {"upload_validity": -10}}) as sim:
        config = make_cpi_config(sim, "xen", tmp_path)
        reply = cpi("create_stemcell", str(make_image("xen", tmp_path)), stemcell_props("xen"), config=config)
        assert reply.error["type"] == "Bosh::Clouds::CloudError"
        assert "request not valid anymore" in reply.error["message"]
        assert "zone-xen" in reply.error["message"]
        assert not [t for t in templates(sim) if t["name"].startswith("bosh-cloudstack-xen")]
        assert sim.request_counts().get("deleteTemplate") == 1


# -- readiness: error states and timeouts --------------------------------------------------------


def test_error_state_fails_fast_with_the_server_status_and_cleans_up(xen, cpi) -> None:
    sim, config, image = xen
    sim.faults.fail_templates(1, status="Failed post download script: File type mismatch")
    reply = cpi("create_stemcell", str(image), stemcell_props("xen"), config=config, timeout=30)
    assert reply.error["type"] == "Bosh::Clouds::CloudError"
    assert "Failed post download script: File type mismatch" in reply.error["message"]
    assert not [t for t in templates(sim) if t["name"].startswith("bosh-cloudstack-xen")]
    assert sim.request_counts().get("listTemplates", 0) <= 3  # noticed at the first poll, not at a timeout


def test_timeout_waiting_for_ready_reports_last_status_and_cleans_up(tmp_path: Path, cpi) -> None:
    with Simulator({"templates": {"ready_delay": 60}}) as sim:
        config = make_cpi_config(sim, "xen", tmp_path, cloudstack={"stemcell_publish_timeout": 0.03})
        reply = cpi("create_stemcell", str(make_image("xen", tmp_path)), stemcell_props("xen"), config=config)
        assert reply.error["type"] == "Bosh::Clouds::CloudError"
        assert "Timed out" in reply.error["message"] and "Installing Template" in reply.error["message"]
        assert "stemcell_publish_timeout" in reply.error["message"]
        assert not [t for t in templates(sim) if t["name"].startswith("bosh-cloudstack-xen")]


# -- light stemcells -----------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["light_template", "template_name", "template_id"])
def test_light_stemcell_references_an_existing_template(xen, key: str, cpi) -> None:
    sim, config, _ = xen
    (existing,) = templates(sim, name="bosh-stemcell-xen")
    reference = existing["id"] if key == "template_id" else existing["name"]
    empty = config.parent / "empty-image"
    empty.write_bytes(b"")
    reply = cpi("create_stemcell", str(empty), stemcell_props("xen", **{key: reference}), config=config)
    assert reply.error is None, reply.error
    assert reply.result == f"{existing['id']} light"
    assert "upload" not in sim.request_counts() and "getUploadParamsForTemplate" not in sim.request_counts()
    for _ in range(2):
        deleted = cpi("delete_stemcell", reply.result, config=config)
        assert deleted.error is None and deleted.result is None
    assert templates(sim, id=existing["id"]), "a light stemcell's delete must not delete the referenced template"
    assert "deleteTemplate" not in sim.request_counts()


def test_light_stemcell_with_a_missing_reference_is_a_cloud_error(xen, cpi) -> None:
    sim, config, image = xen
    reply = cpi("create_stemcell", str(image), stemcell_props("xen", light_template="no-such-template"),
                config=config)
    assert reply.error["type"] == "Bosh::Clouds::CloudError"
    assert "no-such-template" in reply.error["message"]


def test_light_stemcell_of_another_hypervisor_is_refused(xen, cpi) -> None:
    sim, config, image = xen
    sim.add_template("zone-xen", "kvm-image-in-xen-zone", hypervisor="KVM", format="QCOW2")
    reply = cpi("create_stemcell", str(image), stemcell_props("xen", light_template="kvm-image-in-xen-zone"),
                config=config)
    assert reply.error["type"] == "Bosh::Clouds::CloudError"
    assert "KVM" in reply.error["message"] and "XenServer" in reply.error["message"]


# -- validation ------------------------------------------------------------------------------------


def test_stemcell_for_another_hypervisor_is_refused_listing_what_is_expected(xen, cpi) -> None:
    sim, config, image = xen
    reply = cpi("create_stemcell", str(image), stemcell_props("kvm", architecture="ppc64le"), config=config)
    assert reply.error["type"] == "Bosh::Clouds::CpiError"
    message = reply.error["message"]
    assert "hypervisor 'kvm' (expected xcp-ng or xen or xenserver)" in message
    assert "infrastructure 'openstack' (expected cloudstack)" in message
    assert "architecture 'ppc64le' (expected x86_64)" in message
    assert "cloudstack-vhdx" in message
    assert "getUploadParamsForTemplate" not in sim.request_counts()


def test_missing_image_is_refused(xen, cpi) -> None:
    sim, config, _ = xen
    reply = cpi("create_stemcell", "/nonexistent/image", stemcell_props("xen"), config=config)
    assert reply.error["type"] == "Bosh::Clouds::CpiError"
    assert "/nonexistent/image" in reply.error["message"]


# -- delete, tags, legacy CIDs, zones --------------------------------------------------------------


def test_delete_twice_succeeds_and_removes_the_template(xen, cpi) -> None:
    sim, config, image = xen
    cid = cpi("create_stemcell", str(image), stemcell_props("xen"), config=config).result
    for _ in range(2):
        reply = cpi("delete_stemcell", cid, config=config)
        assert reply.error is None and reply.result is None
    assert not templates(sim, id=cid)
    assert sim.request_counts()["deleteTemplate"] == 1


def test_delete_finds_a_tagged_stemcell_with_one_lookup(xen, cpi) -> None:
    """The tag query finds the CID's template and its copies: no second lookup by id."""
    sim, config, image = xen
    cid = cpi("create_stemcell", str(image), stemcell_props("xen"), config=config).result
    sim.reset_log()
    assert cpi("delete_stemcell", cid, config=config).error is None
    assert not templates(sim, id=cid)
    counts = sim.request_counts()
    assert (counts["listTemplates"], counts["deleteTemplate"]) == (1, 1), counts


def test_delete_of_an_untagged_stemcell_falls_back_to_its_id(xen, cpi) -> None:
    """A create_stemcell killed before its tag job ran leaves the template untagged: still deleted."""
    from vm_support import api

    sim, config, image = xen
    cid = cpi("create_stemcell", str(image), stemcell_props("xen"), config=config).result
    api(sim).call_async("deleteTags", {"resourcetype": "Template", "resourceids": cid})
    assert "bosh-stemcell-cid" not in tags(templates(sim, id=cid)[0])
    assert cpi("delete_stemcell", cid, config=config).error is None
    assert not templates(sim, id=cid)


def test_v3_tags_are_applied_beside_the_ownership_tags(xen, cpi) -> None:
    sim, config, image = xen
    env = {"tags": {"team": "platform", "cost-centre": 42, "bosh-role": "not-allowed"}}
    reply = cpi("create_stemcell", str(image), stemcell_props("xen"), env, api_version=3, config=config)
    assert reply.error is None, reply.error
    (template,) = templates(sim, id=reply.result)
    assert tags(template).items() >= {"team": "platform", "cost-centre": "42", "bosh-role": "stemcell",
                                      "bosh-cpi": "cloudstack",
                                      "bosh-stemcell": "bosh-cloudstack-xen-ubuntu-jammy-go_agent/1.181"}.items()


def test_tags_below_api_v3_are_ignored(xen, cpi) -> None:
    sim, config, image = xen
    reply = cpi("create_stemcell", str(image), stemcell_props("xen"), {"tags": {"team": "x"}}, api_version=2,
                config=config)
    assert reply.error is None, reply.error
    (template,) = templates(sim, id=reply.result)
    assert "team" not in tags(template)


def test_legacy_cpitemplate_cid_is_deleted_by_exact_name(xen, cpi) -> None:
    sim, config, _ = xen
    legacy = sim.add_template("zone-xen", "cpitemplate-12345", format="VHD")
    lookalike = sim.add_template("zone-xen", "cpitemplate-123456", format="VHD")
    reply = cpi("delete_stemcell", "cpitemplate-12345", config=config)
    assert reply.error is None, reply.error
    assert not templates(sim, id=legacy["id"])
    assert templates(sim, id=lookalike["id"])
    assert cpi("delete_stemcell", "cpitemplate-12345", config=config).error is None


def test_stemcell_zones_register_one_template_per_zone(tmp_path: Path, cpi) -> None:
    second_zone = {"name": "zone-xen-2", "hypervisor": "XenServer",
                   "networks": [{"name": "bosh-net", "cidr": "10.0.4.0/24", "gateway": "10.0.4.1",
                                 "offering": "bosh-isolated-vr"}]}
    sim_config = {"zones": [*load_config(None)["zones"], second_zone]}
    with Simulator(sim_config) as sim:
        config = make_cpi_config(sim, "xen", tmp_path, cloudstack={"stemcell_zones": ["zone-xen-2", "zone-xen"]})
        reply = cpi("create_stemcell", str(make_image("xen", tmp_path)), stemcell_props("xen"), config=config)
        assert reply.error is None, reply.error
        made = [t for t in templates(sim) if tags(t).get("bosh-stemcell-cid") == reply.result]
        assert sorted(t["zonename"] for t in made) == ["zone-xen", "zone-xen-2"]
        assert all(t["isready"] for t in made)
        assert next(t for t in made if t["id"] == reply.result)["zonename"] == "zone-xen"
        assert cpi("delete_stemcell", reply.result, config=config).error is None
        assert not [t for t in templates(sim) if tags(t).get("bosh-stemcell-cid") == reply.result]
        assert not [t for t in templates(sim) if t["id"] in {m["id"] for m in made}]
