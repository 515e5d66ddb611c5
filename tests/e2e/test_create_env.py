"""Issue 17 item 3: ``bosh create-env``, an update (new instance type, bigger disk) and
``bosh delete-env`` with the real CLI, the CPI release and a real bosh-agent per VM.

The state file and the simulator must agree after every step, the agent must have mounted
the disk the CPI's hint names, and nothing may be left afterwards.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cloudstack_simulator import Simulator
from cpi_framework.testing.agent_resolvers import resolvers_for
from cpi_framework.testing.checks import assert_hint_reaches

from .harness import (
    PLUGINS,
    build_stemcell,
    create_env_args,
    deployment_vars,
    read_state,
    simulator_config,
    step,
    tools_dir,
)
from .harness import bosh as run_bosh

FIRST = {"offering": "small", "disk_size": 10_240}
SECOND = {"offering": "medium", "disk_size": 20_480}


def _agent_file(sim: Simulator, vm_cid: str, name: str) -> Any:
    base = sim.guest_agent_dir(vm_cid)
    assert base is not None
    path = base / "bosh" / name
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _live(sim: Simulator) -> dict[str, list[dict[str, Any]]]:
    inv = sim.inventory()
    return {"vms": [v for v in inv["virtualmachines"] if v["state"] not in ("Destroyed", "Expunging")],
            "volumes": inv["volumes"], "templates": inv["templates"]}


def assert_agrees(sim: Simulator, state: dict[str, Any], plugin: str) -> dict[str, Any]:
    """The state file's VM, disk and stemcell are the simulator's, and the agent mounted the disk."""
    live = _live(sim)
    vm_cid = state["current_vm_cid"]
    assert [v["id"] for v in live["vms"]] == [vm_cid], f"state VM {vm_cid}, simulator VMs {live['vms']}"
    vm = live["vms"][0]
    assert vm["state"] == "Running"
    assert list(sim.guest_agents()) == [vm_cid], "the running VM has exactly one agent process"
    assert [t["id"] for t in live["templates"]] == [s["cid"] for s in state["stemcells"]]
    (disk,) = state["disks"]
    data = {v["id"]: v for v in live["volumes"] if v["type"] == "DATADISK"}
    assert disk["cid"] in data and data[disk["cid"]].get("virtualmachineid") == vm_cid
    assert data[disk["cid"]]["size"] == disk["size"] * 2**20
    mounts = _agent_file(sim, vm_cid, "mounts.json") or []
    # After a migration the dummy platform keeps its record of the old disk's mount (the Linux
    # platform unmounts it and remounts the new disk at the store), so: the disk is among them.
    assert disk["cid"] in [m["DiskCid"] for m in mounts], f"agent mounts {mounts}"
    hints = _agent_file(sim, vm_cid, "persistent_disk_hints.json") or {}
    assert disk["cid"] in hints, f"the agent holds no hint for {disk['cid']}: {hints}"
    hint = hints[disk["cid"]]
    agent_hint = {"path": hint["Path"], "id": hint["DeviceID"], "volume_id": hint["VolumeID"],
                  "lun": hint["Lun"], "host_device_id": hint["HostDeviceID"]}
    agent_hint = {k: v for k, v in agent_hint.items() if v}
    # the hint as the agent received it (the dummy platform resolves no devices), judged by the
    # agent resolver model and, where it is built, the agent oracle (the agent's own resolvers)
    assert_hint_reaches(sim, vm_cid, agent_hint, resolver=resolvers_for(plugin), cid=disk["cid"])
    step(f"  state and simulator agree: VM {vm_cid} ({vm['serviceofferingname']}), disk {disk['cid']} "
         f"({disk['size']} MiB) mounted by the agent via {agent_hint}")
    return vm


@pytest.mark.parametrize("plugin", PLUGINS)
def test_create_env_update_delete(plugin: str, e2e_dir: Path, bosh_home: Path, cpi_release_host: Path,
                                  minimal_release: Path) -> None:
    work = e2e_dir / plugin
    work.mkdir()
    paths = {"cpi_release": cpi_release_host, "minimal_release": minimal_release,
             "stemcell": build_stemcell(plugin, work / "stemcell.tgz"), "agent_blobs": work / "agent-blobs"}
    state_file, creds, log = work / "state.json", work / "creds.yml", work / "bosh.log"
    step(f"[{plugin}] simulator with a bosh-agent per running VM (network 127.0.10.0/24); bosh log: {log}")
    with Simulator(simulator_config(plugin, tools_dir() / "bosh-agent", work / "agents")) as sim:
        def agent_died() -> str | None:
            for vm_cid, code in sim.guest_agent_exits().items():
                agent_log = work / "agents" / vm_cid / "agent.log"
                text = agent_log.read_text(encoding="utf-8", errors="replace") if agent_log.exists() else ""
                errors = [line for line in text.splitlines() if "ERROR" in line]
                said = "\n".join(errors or text.splitlines()[-20:])[-3000:]
                return f"the agent of VM {vm_cid} exited ({code}); it said:\n{said}"
            return None

        def deploy(command: str, **sizes: Any) -> dict[str, Any]:
            variables = deployment_vars(plugin, sim, paths, **sizes)
            run_bosh(create_env_args(command, plugin, variables, state_file, creds), home=bosh_home, log=log,
                     watch=agent_died, tty=True)
            return read_state(state_file)

        step(f"[{plugin}] bosh create-env (compute offering small, persistent disk 10 GiB)")
        first = deploy("create-env", **FIRST)
        assert_agrees(sim, first, plugin)
        counts = sim.request_counts()
        assert counts.get("registerTemplate", 0) + counts.get("getUploadParamsForTemplate", 0) >= 1

        step(f"[{plugin}] bosh create-env again (offering medium, disk 20 GiB): new VM, disk migration")
        second = deploy("create-env", **SECOND)
        vm = assert_agrees(sim, second, plugin)
        assert second["current_vm_cid"] != first["current_vm_cid"]
        assert vm["serviceofferingname"] == "medium"
        old_disk, new_disk = first["disks"][0]["cid"], second["disks"][0]["cid"]
        assert new_disk != old_disk
        assert old_disk not in {v["id"] for v in _live(sim)["volumes"]}, "the old persistent disk was deleted"
        migrations = _agent_file(sim, second["current_vm_cid"], "disk_migrations.json")
        assert migrations == [{"FromDiskCid": old_disk, "ToDiskCid": new_disk}], migrations
        step(f"[{plugin}]   the agent migrated {old_disk} -> {new_disk}; the old disk is gone")

        step(f"[{plugin}] bosh delete-env")
        final = deploy("delete-env", **SECOND)
        live = _live(sim)
        assert live == {"vms": [], "volumes": [], "templates": []}, f"left behind: {live}"
        assert sim.guest_agents() == {}
        assert not final.get("current_vm_cid") and not final.get("disks") and not final.get("stemcells")
        step(f"[{plugin}]   nothing left: no VM, volume, template or agent; the state file is empty")
