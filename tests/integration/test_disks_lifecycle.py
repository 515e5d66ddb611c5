"""Persistent disks through the real CPI process, per shipped hypervisor (contract 6.D 23-26, 28, 34-35).

Every hint ``attach_disk`` answers is resolved by the independent agent model
(``cpi_framework.testing.agent_resolvers``) in the simulator's view of the guest, and must reach the device of
the volume it was given for.
"""

from __future__ import annotations

from typing import Any

from cpi_framework.testing import checks
from cpi_framework.testing.agent_resolvers import AGENT_RESOLUTION

NETWORKS = {"default": {"type": "dynamic", "cloud_properties": {"name": "bosh-net"}, "default": ["dns", "gateway"]}}
VM_TYPE = {"compute_offering": "small", "disk": 1024}


def ok(response: Any) -> Any:
    assert response.error is None, f"{response.error}\n{response.log[-3000:]}"
    return response.result


def stemcell(simulator: Any, hypervisor: str) -> str:
    return next(t["id"] for t in simulator.inventory()["templates"] if t["name"] == f"bosh-stemcell-{hypervisor}")


def create_vm(cpi: Any, simulator: Any, hypervisor: str, disk_cids: list[str] | None = None) -> str:
    result = ok(cpi("create_vm", "agent-007", stemcell(simulator, hypervisor), VM_TYPE, NETWORKS, disk_cids or [],
                    {"bosh": {"group": "instance-group-1"}}, api_version=2))
    return result[0]


def volume(simulator: Any, volume_id: str) -> dict[str, Any] | None:
    return next((v for v in simulator.inventory()["volumes"] if v["id"] == volume_id), None)


def assert_hint_reaches(simulator: Any, hypervisor: str, vm_cid: str, disk_cid: str, hint: Any) -> None:
    assert hint, "a v2 attach_disk must answer a non-empty hint"
    assert isinstance(hint, str) or all(isinstance(v, str) for v in hint.values()), hint
    # the agent model under the stemcell's resolver, and the real agent's beside it where the oracle runs
    checks.assert_hint_reaches(simulator, vm_cid, hint, resolver=AGENT_RESOLUTION.get(hypervisor, hypervisor),
                               cid=disk_cid)


def test_persistent_disk_lifecycle(cpi, simulator, hypervisor):
    """Hypervisor-dependent steps only; detach/delete semantics run once in test_disks_semantics."""
    vm1 = create_vm(cpi, simulator, hypervisor)
    root = next(v for v in simulator.inventory()["volumes"] if v.get("virtualmachineid") == vm1)

    # 23: created next to the VM
    created = cpi("create_disk", 2048, {}, vm1, api_version=2)
    disk1 = ok(created)
    assert volume(simulator, disk1)["zoneid"] == root["zoneid"]
    # logs name zones by name, as the director's operator writes them (issue 19 item 13: ids and names mixed)
    assert f"in zone {root['zonename']}" in created.log and root["zoneid"] not in created.log

    # 24, 25: attach answers a hint the agent resolves to this disk; attaching again answers the same
    hint1 = ok(cpi("attach_disk", vm1, disk1, api_version=2))
    assert_hint_reaches(simulator, hypervisor, vm1, disk1, hint1)
    assert ok(cpi("attach_disk", vm1, disk1, api_version=2)) == hint1

    # a second disk lands past CloudStack's CD-ROM device id 3 (root 0, ephemeral 1, disk1 2)
    disk2 = ok(cpi("create_disk", 1024, {}, vm1, api_version=2))
    hint2 = ok(cpi("attach_disk", vm1, disk2, api_version=2))
    assert volume(simulator, disk2)["deviceid"] == 4
    assert_hint_reaches(simulator, hypervisor, vm1, disk2, hint2)
    assert sorted(ok(cpi("get_disks", vm1, api_version=2))) == sorted([disk1, disk2]), "never the ephemeral disk"

    # 34, 35: delete the VM without detaching, recreate it with the disks, reattach one
    assert ok(cpi("delete_vm", vm1, api_version=2)) is None
    vm2 = create_vm(cpi, simulator, hypervisor, disk_cids=[disk1, disk2])
    hint = ok(cpi("attach_disk", vm2, disk2, api_version=2))
    assert_hint_reaches(simulator, hypervisor, vm2, disk2, hint)
    assert ok(cpi("get_disks", vm2, api_version=2)) == [disk2]
