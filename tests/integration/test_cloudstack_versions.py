"""The CPI on every supported CloudStack generation, with the same CPI config: it takes the route each
version offers (cloudstack_simulator/versions.py models the servers; cpi_framework/services/versions.py
is the CPI's side). One simulator per profile; the request log shows which commands carried the work."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_stemcells import make_image, stemcell_props

from cloudstack_simulator import Simulator
from cloudstack_simulator.versions import PROFILES
from cpi_framework.testing import make_cpi_config, run_cpi
from cpi_framework.testing.checks import ok
from cpi_framework.testing.contract import dynamic

GIB = 2**30


def failed(response, bosh_type: str, *mentions: str) -> str:
    assert response.error is not None, f"expected {bosh_type}, got result {response.result!r}"
    assert response.error["type"] == f"Bosh::Clouds::{bosh_type}", response.error
    for text in mentions:
        assert text in response.error["message"], (text, response.error["message"])
    return response.error["message"]


def _version(name: str) -> tuple[int, int]:
    major, minor = name.split(".")
    return int(major), int(minor)


def _succeeded(sim: Simulator, command: str) -> int:
    return sum(1 for e in sim.request_log() if e["command"] == command and e["status"] == 200)


@pytest.mark.parametrize("profile", list(PROFILES))
def test_the_cpi_takes_the_route_each_version_offers(profile: str, tmp_path: Path) -> None:
    old_upload = _version(profile) < (4, 6)
    old_offering_change = _version(profile) < (4, 17)
    with Simulator({"cloudstack_version": PROFILES[profile]}) as sim:
        config = make_cpi_config(sim, "xen", tmp_path)  # the same CPI config for every version

        stemcell = ok(run_cpi(config, "create_stemcell", str(make_image("xen", tmp_path)), stemcell_props("xen")))
        template = next(t for t in sim.inventory()["templates"] if t["id"] == stemcell)
        assert template["isready"] is True
        assert _succeeded(sim, "registerTemplate") == (1 if old_upload else 0)
        assert _succeeded(sim, "getUploadParamsForTemplate") == (0 if old_upload else 1)
        if old_upload:  # the refusal, then one listCapabilities to tell "missing" from "wrong keys"
            assert sim.request_counts()["getUploadParamsForTemplate"] == 1
            assert sim.request_counts()["listCapabilities"] == 1
            assert template["upload"]["source"] == "url"

        disk = ok(run_cpi(config, "create_disk", 2048, {}, None, api_version=2))
        sim.reset_log()
        assert ok(run_cpi(config, "update_disk", disk, 10240, {"disk_offering": "disk-small"}, api_version=2)) == disk
        volume = next(v for v in sim.inventory()["volumes"] if v["id"] == disk)
        assert (volume["diskofferingname"], volume["size"]) == ("disk-small", 10 * GIB)
        counts = sim.request_counts()
        if old_offering_change:
            assert _succeeded(sim, "resizeVolume") == 1 and counts.get("changeOfferingForVolume") == 1
            assert counts["listCapabilities"] == 1  # the client's key probe on a 401 is reused, not repeated
        else:  # modern clouds: no probe, no extra request
            assert _succeeded(sim, "changeOfferingForVolume") == 1
            assert "resizeVolume" not in counts and "listCapabilities" not in counts
        ok(run_cpi(config, "delete_disk", disk))
        ok(run_cpi(config, "delete_stemcell", stemcell))


def test_a_configured_version_takes_the_old_routes_without_probing(tmp_path: Path) -> None:
    """cloudstack.version (what `check` prints) skips the refused first attempt entirely."""
    with Simulator({"cloudstack_version": PROFILES["4.5"]}) as sim:
        config = make_cpi_config(sim, "xen", tmp_path, cloudstack={"version": "4.5.2"})
        ok(run_cpi(config, "create_stemcell", str(make_image("xen", tmp_path)), stemcell_props("xen")))
        disk = ok(run_cpi(config, "create_disk", 2048, {}, None, api_version=2))
        ok(run_cpi(config, "update_disk", disk, 10240, {"disk_offering": "disk-small"}, api_version=2))
        counts = sim.request_counts()
        assert "getUploadParamsForTemplate" not in counts and "changeOfferingForVolume" not in counts
        assert "listCapabilities" not in counts
        assert counts["registerTemplate"] == 1 and counts["resizeVolume"] == 1


def test_direct_mode_forced_on_an_old_cloud_fails_naming_the_command(tmp_path: Path) -> None:
    """Operators can still force a route; on a cloud without it the error says what the cloud answered."""
    with Simulator({"cloudstack_version": PROFILES["4.5"]}) as sim:
        config = make_cpi_config(sim, "xen", tmp_path, cloudstack={"stemcell_upload_mode": "direct"})
        message = failed(run_cpi(config, "create_stemcell", str(make_image("xen", tmp_path)), stemcell_props("xen")),
                         "CloudError", "getUploadParamsForTemplate")
        assert "does not exist" in message
        assert [t["name"] for t in sim.inventory()["templates"]] == ["bosh-stemcell-xen", "bosh-stemcell-kvm",
                                                                     "bosh-stemcell-vmware"]


def test_a_role_denial_on_a_modern_cloud_is_not_mistaken_for_an_old_version(tmp_path: Path) -> None:
    """4.19 with changeOfferingForVolume denied to the role: the version has it, so no resizeVolume detour."""
    config_sim = {"role": {"name": "CPI user", "type": "User", "denied_commands": ["changeOfferingForVolume"]}}
    with Simulator(config_sim) as sim:
        config = make_cpi_config(sim, "xen", tmp_path)
        disk = ok(run_cpi(config, "create_disk", 2048, {}, None, api_version=2))
        failed(run_cpi(config, "update_disk", disk, 10240, {"disk_offering": "disk-small"}, api_version=2),
               "NotSupported", disk)
        assert "resizeVolume" not in sim.request_counts()


@pytest.mark.parametrize("version", ["4.11.3.0", "4.12.0"])
def test_delete_vm_takes_the_ephemeral_disk_along_or_deletes_it_where_volumeids_is_unknown(
        version: str, tmp_path: Path) -> None:
    """destroyVirtualMachine's volumeids exists from 4.12 (DestroyVMCmd); an older server ignores it,
    detaches the disk in the destroy and keeps it: the read-back finds it and the CPI deletes it."""
    with Simulator({"cloudstack_version": version}) as sim:
        config = make_cpi_config(sim, "xen", tmp_path)
        stemcell = ok(run_cpi(config, "create_stemcell", "/nonexistent",
                              {"name": "s", "version": "1", "infrastructure": "cloudstack", "hypervisor": "xen",
                               "light_template": "bosh-stemcell-xen"}))
        vm = ok(run_cpi(config, "create_vm", "agent", stemcell, {"compute_offering": "small", "disk": 1024},
                        {"default": dynamic()}, [], {}, api_version=2))[0]
        mark = len(sim.request_log())
        ok(run_cpi(config, "delete_vm", vm))
        commands = [e["command"] for e in sim.request_log()[mark:]]
        left = [v for v in sim.inventory()["volumes"]
                if v.get("type") == "DATADISK" and v.get("state") not in ("Expunged", "Destroy")]
        assert left == []
        assert "stopVirtualMachine" not in commands
        assert ("deleteVolume" in commands) is (version < "4.12")
