"""Contract 6.G, caller sequences: the calls the director and the CLI really make, in their order.

Steps the scenarios share with 6.D are checked here too (calculate_vm_cloud_properties feeding
create_vm, hints after a recreate) rather than paying for more VMs elsewhere.
"""

from __future__ import annotations

from typing import Any

from ..checks import (
    STEMCELL_CONTEXT,
    Cpi,
    Resolver,
    assert_hint_reaches,
    assert_no_leaks,
    cpi_objects,
    create,
    dynamic,
    failed,
    free_ip,
    guest_disk,
    guest_settings,
    light_stemcell,
    ok,
    zone_network,
)
from ..runner import DIRECTOR_UUID

__all__ = ["test_director_deploy_sequences", "test_create_env_delete_env_and_cck_sequences"]


def test_director_deploy_sequences(shared_simulator: Any, shared_cpi: Cpi, shared_stemcell: str, hypervisor: str,
                                   agent_resolver: Resolver) -> None:
    """6.G 53, 54 (and 6.D 39): a compilation VM sized by calculate_vm_cloud_properties (``vm_resources``),
    an instance with a persistent disk, then a recreate with a new IP."""
    sim, cpi, stemcell = shared_simulator, shared_cpi, shared_stemcell
    before = cpi_objects(sim)
    network = zone_network(sim, hypervisor)
    director = {"director_uuid": DIRECTOR_UUID, "request_id": "cpi-100001"}
    ok(cpi("info", context=director))
    # 6.D 39: the answer carries every key create_vm needs, including the ephemeral ``disk``
    props = ok(cpi("calculate_vm_cloud_properties", {"cpu": 1, "ram": 512, "ephemeral_disk_size": 2048},
                   api_version=2, context=director))
    assert props["compute_offering"] and props["disk"] == 2048 and props["ephemeral_disk_offering"]
    compile_vm = create(cpi, stemcell, props=props, agent_id="compile-pkg-a")
    ephemeral = guest_settings(sim, compile_vm)["disks"]["ephemeral"]
    # the offering picked may be a fixed size above the request (disk-small is 10 GB), never below it
    assert guest_disk(sim, compile_vm, ephemeral, resolver=agent_resolver)["size"] >= 2048 * 2**20
    job = "compilation-pkg-a"
    ok(cpi("set_vm_metadata", compile_vm, {"director": "d", "deployment": "dep", "job": job, "index": "0",
                                           "name": f"{job}/0", "created_at": "2026-01-01T00:00:00Z"},
           api_version=2, context=director))
    ok(cpi("set_vm_metadata", compile_vm, {"director": "d", "deployment": "dep", "job": job, "index": "0",
                                           "name": f"{job}/0", "compiling": "pkg-a"},
           api_version=2, context=director))
    ok(cpi("delete_vm", compile_vm, api_version=2, context=STEMCELL_CONTEXT))

    def manual(offset: int) -> dict[str, Any]:
        return {"default": {"type": "manual", "ip": free_ip(network, offset), "netmask": network["netmask"],
                            "gateway": network["gateway"], "default": ["dns", "gateway"],
                            "cloud_properties": {"name": "bosh-net"}}}

    vm = create(cpi, stemcell, manual(70), agent_id="instance-agent")
    ok(cpi("set_vm_metadata", vm, {"deployment": "dep", "job": "web", "index": "0", "name": "web/abc"},
           api_version=2, context=director))
    disk = ok(cpi("create_disk", 1024, {}, vm, api_version=2, context=director))
    ok(cpi("attach_disk", vm, disk, api_version=2, context=STEMCELL_CONTEXT))
    ok(cpi("set_disk_metadata", disk, {"deployment": "dep", "instance_id": "abc", "instance_index": "0"},
           api_version=2, context=director))
    # redeploy with a new IP: snapshot, detach, delete, create with the disk, attach again
    snapshot = ok(cpi("snapshot_disk", disk, {"deployment": "dep", "job": "web", "index": 0}, api_version=2,
                      context=director))
    ok(cpi("detach_disk", vm, disk, api_version=2, context=STEMCELL_CONTEXT))
    ok(cpi("delete_vm", vm, api_version=2, context=STEMCELL_CONTEXT))
    vm = create(cpi, stemcell, manual(71), disk_cids=[disk], agent_id="instance-agent")
    ok(cpi("set_vm_metadata", vm, {"deployment": "dep", "job": "web", "index": "0", "name": "web/abc"},
           api_version=2, context=director))
    hint = ok(cpi("attach_disk", vm, disk, api_version=2, context=STEMCELL_CONTEXT))
    assert_hint_reaches(sim, vm, hint, resolver=agent_resolver, cid=disk)
    ok(cpi("set_disk_metadata", disk, {"deployment": "dep"}, api_version=2, context=director))
    ok(cpi("delete_vm", vm, api_version=2, context=STEMCELL_CONTEXT))
    ok(cpi("delete_disk", disk, api_version=2, context=director))
    ok(cpi("delete_snapshot", snapshot, api_version=2, context=director))
    assert_no_leaks(sim, before)


def test_create_env_delete_env_and_cck_sequences(shared_simulator: Any, shared_cpi: Cpi, hypervisor: str,
                                                 agent_resolver: Resolver) -> None:
    """6.G 55-57: create-env (v2, CLI context) from its own stemcell, a disk migration, cck recreate/reboot,
    then delete-env down to delete_stemcell."""
    sim, cpi = shared_simulator, shared_cpi
    cli = {"director_uuid": DIRECTOR_UUID, "vm": {"stemcell": {"api_version": 3}}}
    before = cpi_objects(sim)

    def call(method: str, *args: Any) -> Any:
        return ok(cpi(method, *args, api_version=2, context=cli))

    def attach(vm: str, disk: str) -> None:
        hint = call("attach_disk", vm, disk)
        assert_hint_reaches(sim, vm, hint, resolver=agent_resolver, cid=disk)

    # the CLI calls info (v1) before every call; once is enough to check the negotiation
    assert ok(cpi("info", api_version=1, context=cli))["api_version"] >= 2
    stemcell = light_stemcell(cpi, hypervisor)

    props = {"compute_offering": "small", "disk": 1024}
    vm = call("create_vm", "bosh-agent", stemcell, props, {"default": dynamic(default=["dns", "gateway"])}, None,
              {"bosh": {"password": "x"}})[0]
    call("set_vm_metadata", vm, {"deployment": "bosh", "job": "bosh", "index": "0", "director": "bosh-init"})
    old_disk = call("create_disk", 1024, {}, vm)
    attach(vm, old_disk)
    call("set_disk_metadata", old_disk, {"deployment": "bosh"})
    # disk migration to a bigger disk
    new_disk = call("create_disk", 2048, {}, vm)
    attach(vm, new_disk)
    call("detach_disk", vm, old_disk)
    call("delete_disk", old_disk)
    # cck: reboot, then recreate (delete + create with the disk + attach), reattach a known disk
    call("reboot_vm", vm)
    assert call("has_vm", vm) is True
    call("delete_vm", vm)
    vm = call("create_vm", "bosh-agent", stemcell, props, {"default": dynamic()}, [new_disk], None)[0]
    attach(vm, new_disk)
    attach(vm, new_disk)
    # redeploy by create-env: has_vm, delete_vm (VMNotFound tolerated on a second try)
    assert call("has_vm", vm) is True
    call("delete_vm", vm)
    failed(cpi("delete_vm", vm, api_version=2, context=cli), "Bosh::Clouds::VMNotFound")
    # delete-env
    assert call("has_vm", vm) is False
    call("delete_disk", new_disk)
    call("delete_stemcell", stemcell)
    assert stemcell not in {t["id"] for t in sim.inventory()["templates"]}
    assert_no_leaks(sim, before)
