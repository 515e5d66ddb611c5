"""Disk offerings with storage tags and size strictness (VolumeApiServiceImpl 4.17+, docs/simulator.md ledger).

Moving a volume to another offering is refused inside the job when the offerings' size strictness
differs or the new one lacks a storage tag of the current one. The CPI must answer NotSupported
(the director then copies the data to a new disk) and leave the disk as it was.
"""

from __future__ import annotations

from typing import Any

import pytest

from cpi_framework.testing.checks import failed, ok


@pytest.fixture(scope="session")
def hypervisor() -> str:
    return "xen"


def _volume(sim: Any, cid: str) -> dict[str, Any]:
    return next(v for v in sim.inventory()["volumes"] if v["id"] == cid)


def test_resize_of_a_strict_fixed_size_disk_is_not_supported(shared_simulator: Any, shared_cpi: Any) -> None:
    """resize_disk moves a fixed-size disk to cpi.default_disk_offering with resizeVolume: refused for a
    disk whose offering is size-strict ("Resize volume for … is not allowed since disk offering's size is fixed")."""
    disk = ok(shared_cpi("create_disk", 10240, {"disk_offering": "disk-strict-10"}, None, api_version=2))
    before = _volume(shared_simulator, disk)
    error = failed(shared_cpi("resize_disk", disk, 20480, api_version=2), "Bosh::Clouds::NotSupported")
    assert "size is fixed" in error["message"] and disk in error["message"], error
    after = _volume(shared_simulator, disk)
    assert (after["size"], after["diskofferingid"]) == (before["size"], before["diskofferingid"])
    ok(shared_cpi("delete_disk", disk, api_version=2))


def test_update_to_an_offering_without_the_storage_tag_is_not_supported(shared_simulator: Any,
                                                                        shared_cpi: Any) -> None:
    disk = ok(shared_cpi("create_disk", 2048, {"disk_offering": "disk-ssd"}, None, api_version=2))
    before = _volume(shared_simulator, disk)
    error = failed(shared_cpi("update_disk", disk, 102400, {"disk_offering": "disk-large"}, api_version=2),
                   "Bosh::Clouds::NotSupported")
    assert "does not have tags" in error["message"], error
    after = _volume(shared_simulator, disk)
    assert (after["size"], after["diskofferingid"]) == (before["size"], before["diskofferingid"])
    ok(shared_cpi("delete_disk", disk, api_version=2))


def test_moves_the_rules_allow_still_work(shared_simulator: Any, shared_cpi: Any) -> None:
    disk = ok(shared_cpi("create_disk", 10240, {"disk_offering": "disk-small"}, None, api_version=2))
    ok(shared_cpi("resize_disk", disk, 20480, api_version=2))  # fixed, not strict -> disk-custom
    assert _volume(shared_simulator, disk)["size"] == 20 * 2**30
    ok(shared_cpi("delete_disk", disk, api_version=2))
