"""Empty metadata values never reach createTags (TaggedResourceManagerImpl refuses them).

Director metadata and ``env.bosh.tags`` may hold ``""``; the simulator fails a ``createTags`` (or a
``createSnapshot`` with tags) whose value is empty, as the server does. Every method that tags
leaves such keys out, and clearing a value removes the tag.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_stemcells import make_image, stemcell_props

from cpi_framework.testing import contract
from cpi_framework.testing.checks import STEMCELL_CONTEXT, assert_no_leaks, cpi_objects, dynamic, ok, tags_of, vm_view

stemcell = contract.stemcell


@pytest.fixture(scope="session")
def hypervisor() -> str:
    return "xen"


def _tags(sim: Any, kind: str, resource_id: str) -> dict[str, str]:
    return {t["key"]: t["value"] for t in sim.inventory()["tags"] if t["resourceid"] == resource_id
            and t["resourcetype"] == kind}


def test_empty_values_are_left_out_everywhere(shared_simulator: Any, shared_cpi: Any, stemcell: str) -> None:
    sim, cpi = shared_simulator, shared_cpi
    before = cpi_objects(sim)
    env = {"bosh": {"group": "g", "tags": {"team": "cpi", "cost-center": ""}}}
    vm = ok(cpi("create_vm", "agent-tags", stemcell, {"compute_offering": "small"}, {"default": dynamic()}, None, env,
                api_version=2, context=STEMCELL_CONTEXT))[0]
    vm_tags = tags_of(vm_view(sim, vm))
    assert vm_tags["team"] == "cpi" and "cost-center" not in vm_tags

    ok(cpi("set_vm_metadata", vm, {"deployment": "d", "job": "", "index": 0}, api_version=2))
    vm_tags = tags_of(vm_view(sim, vm))
    assert vm_tags["deployment"] == "d" and vm_tags["index"] == "0" and "job" not in vm_tags
    ok(cpi("set_vm_metadata", vm, {"deployment": ""}, api_version=2))  # clearing a value removes the tag
    assert "deployment" not in tags_of(vm_view(sim, vm))

    disk = ok(cpi("create_disk", 1024, {}, vm, api_version=2))
    ok(cpi("attach_disk", vm, disk, api_version=2))
    ok(cpi("set_disk_metadata", disk, {"director": "d", "attached_at": ""}, api_version=2))
    disk_tags = _tags(sim, "Volume", disk)
    assert disk_tags["director"] == "d" and "attached_at" not in disk_tags

    snapshot = ok(cpi("snapshot_disk", disk, {"deployment": "d", "instance_id": ""}, api_version=2))
    snap_tags = _tags(sim, "Snapshot", snapshot)
    assert snap_tags["deployment"] == "d" and "instance_id" not in snap_tags

    ok(cpi("delete_snapshot", snapshot, api_version=2))
    ok(cpi("delete_vm", vm, api_version=2))
    ok(cpi("delete_disk", disk, api_version=2))
    assert_no_leaks(sim, before)


def test_stemcell_v3_tags_with_an_empty_value(shared_simulator: Any, shared_cpi: Any, tmp_path: Path) -> None:
    before = {t["id"] for t in shared_simulator.inventory()["templates"]}
    image = make_image("xen", tmp_path)
    cid = ok(shared_cpi("create_stemcell", str(image), stemcell_props("xen"), {"tags": {"owner": "ops", "note": ""}},
                        api_version=3))
    template = next(t for t in shared_simulator.inventory()["templates"] if t["id"] not in before)
    assert tags_of(template)["owner"] == "ops" and "note" not in tags_of(template)
    ok(shared_cpi("delete_stemcell", cid, api_version=3))
    assert {t["id"] for t in shared_simulator.inventory()["templates"]} == before
