"""Crash safety: SIGKILL the CPI at random points of create_vm, create_stemcell and attach_disk.

Slow simulator jobs widen the windows between CloudStack calls. After each kill the director's
next moves run - the identical retry, then (as the director would on its side) the follow-ups
``set_vm_metadata``/``delete_vm``/``has_vm`` - and ``cloudstack-cpi orphans --delete``. The
cloud must end clean: every leftover of the killed call deleted by the orphans tool or at least
*reported* by it (an untagged VM cannot be proven ours), and no persistent disk ever deleted.

Kill delays are drawn from a seeded generator (``CPI_CRASH_SEED``; printed on failure).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fault_scenarios import STEMCELL_PROPS, image, new_disk, new_vm, ok, run, template_id
from reliability_support import (
    FIGURES,
    HEAVY,
    director_env,
    owned,
    persistent_disk_ids,
    request,
    wait_until,
)

from cloudstack_simulator import Simulator
from cpi_framework.testing import DIRECTOR_UUID, cpi_command, make_cpi_config
from cpi_framework.testing.contract import STEMCELL_CONTEXT, dynamic

KILLS = 12 if HEAVY else 2
SEED = int(os.environ.get("CPI_CRASH_SEED", "20261125"))
SLOW_JOBS = {"deployVirtualMachine": 0.5, "startVirtualMachine": 0.3, "createVolume": 0.3, "attachVolume": 0.5,
             "createTags": 0.15}
VM_PROPS = {"compute_offering": "small", "disk": 1024}
PUBLISH_MINUTES = 0.02  # 1.2 s: a template not ready by then is provably orphaned


@pytest.fixture
def slow_sim(tmp_path: Path) -> Any:
    with Simulator({"templates": {"ready_delay": 0.3}}) as sim:
        config = make_cpi_config(sim, "xen", tmp_path, cloudstack={"timeouts": {"default": 20},
                                                                   "stemcell_publish_timeout": PUBLISH_MINUTES})
        yield sim, config, tmp_path


def spawn(config: Path, raw: bytes, tmpdir: Path) -> subprocess.Popen:
    """Start the CPI with the request on stdin (a file: stdin is at EOF after it, as the director closes it)."""
    request_file = tmpdir / "request.json"
    request_file.write_bytes(raw)
    with request_file.open("rb") as stdin:
        return subprocess.Popen([*cpi_command(), "--config", str(config)], stdin=stdin, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=director_env(str(tmpdir)), start_new_session=True)


def timed_clean_run(config: Path, raw: bytes, tmpdir: Path, sim: Any) -> float:
    slow_jobs(sim)
    started = time.monotonic()
    proc = spawn(config, raw, tmpdir)
    out, _ = proc.communicate(timeout=60)
    assert json.loads(out)["error"] is None, out[:2000]
    sim.faults.clear()
    return time.monotonic() - started


def slow_jobs(sim: Any) -> None:
    """Widen the windows for the call under test only (``faults.clear()`` restores instant jobs)."""
    for command, seconds in SLOW_JOBS.items():
        sim.faults.job_duration(command, seconds)


def kill_after(config: Path, raw: bytes, tmpdir: Path, delay: float, sim: Any) -> bool:
    """Run the call with slow jobs and SIGKILL it after ``delay`` s; True if it was still running."""
    slow_jobs(sim)
    proc = spawn(config, raw, tmpdir)
    try:
        proc.wait(timeout=delay)
        finished = True
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        finished = False
    proc.communicate(timeout=30)
    settle(sim)
    sim.faults.clear()
    FIGURES.add("crash: processes killed" if not finished else "crash: finished before the kill")
    return not finished


def settle(sim: Any) -> None:
    """Let the jobs the killed process left behind finish (they run on, as in a real cloud)."""
    assert wait_until(lambda: all(j["jobstatus"] != 0 for j in sim.inventory()["jobs"]), timeout=15), \
        "simulator jobs still pending"


def orphans(config: Path, *extra: str) -> dict[str, Any]:
    proc = subprocess.run([*cpi_command(), "orphans", "--config", str(config), "--min-age", "0", "--json", *extra],
                          capture_output=True, timeout=120, env=director_env())
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    FIGURES.add("crash: orphans runs")
    return json.loads(proc.stdout)


def findings(report: dict[str, Any]) -> list[dict[str, Any]]:
    for key in ("findings", "resources", "items"):
        if isinstance(report.get(key), list):
            return report[key]
    raise AssertionError(f"unexpected orphans --json shape: {sorted(report)}")


def object_ids(sim: Any) -> set[str]:
    inventory = sim.inventory()
    return {o["id"] for kind in ("virtualmachines", "volumes", "templates", "snapshots") for o in inventory[kind]}


def cpi_leftovers(sim: Any, keep: set[str]) -> list[tuple[str, str, str]]:
    """CPI resources (tagged, or named like the CPI's) that are not in ``keep``."""
    inventory = sim.inventory()
    left = []
    for kind in ("virtualmachines", "volumes", "templates", "snapshots"):
        tagged = {o["id"] for o in owned(inventory, kind)}
        for obj in inventory[kind]:
            name = str(obj.get("name") or "")
            ours = obj["id"] in tagged or name.startswith(("vm-", "bosh-", "cpi"))
            if kind == "volumes" and obj.get("type") == "ROOT":
                ours = False  # goes with its VM
            if kind == "virtualmachines" and obj.get("state") in ("Destroyed", "Expunging", "Expunged"):
                ours = False
            if ours and obj["id"] not in keep:
                left.append((kind, obj["id"], f"{name} {obj.get('state') or obj.get('status')}"))
    return left


def tagged_ids(sim: Any) -> set[str]:
    return {t["resourceid"] for t in sim.inventory()["tags"] if t.get("key") == "bosh-cpi"}


def recover_and_check(sim: Any, config: Path, keep: set[str], persistent: set[str], label: str) -> None:
    """``keep``: what existed before the killed call plus what the director's follow-ups made and know."""
    settle(sim)
    report = orphans(config, "--delete", "--director-uuid", DIRECTOR_UUID)
    listed = orphans(config)  # without --director-uuid: also reports untagged VMs
    reported = {f["id"] for f in findings(listed)}
    left = cpi_leftovers(sim, keep)
    unreported = [item for item in left if item[1] not in reported]
    # only an untagged VM may stay (reported: no cloud fact proves it ours); anything else must be gone
    kept = [item for item in left if item[1] in reported]
    undeleted = [item for item in kept if item[0] != "virtualmachines" or item[1] in tagged_ids(sim)]
    FIGURES.add("crash: untagged VMs reported, not deletable", len(kept) - len(undeleted))
    if unreported or undeleted:
        FIGURES.add("leaks found", len(unreported) + len(undeleted))
    assert not unreported, f"{label}: leftovers neither deleted nor reported by orphans: {unreported}\n" \
                           f"orphans --delete said: {json.dumps(findings(report))[:1500]}"
    listed_as = [f for f in findings(listed) if f["id"] in {item[1] for item in undeleted}]
    assert not undeleted, f"{label}: provable orphans not deleted: {undeleted}\n" \
                          f"orphans --delete said: {json.dumps(findings(report))[:1500]}\n" \
                          f"orphans (listing) said of them: {json.dumps(listed_as)[:1500]}"
    lost = persistent - persistent_disk_ids(sim.inventory())
    assert not lost, f"{label}: persistent disks deleted: {lost}"
    FIGURES.add("leak checks")


def _delays(rng: random.Random, clean: float) -> list[float]:
    return [round(rng.uniform(0.05, clean * 1.05), 3) for _ in range(KILLS)]


def test_kill_during_create_vm(slow_sim):
    sim, config, tmp = slow_sim
    rng = random.Random(SEED)
    disk = new_disk(config)  # a persistent disk that must survive everything
    raw = request("create_vm", "agent-crash", template_id(sim), VM_PROPS, {"default": dynamic()}, [disk],
                  {"bosh": {"group": "crash"}}, api_version=2, context=STEMCELL_CONTEXT)
    clean = timed_clean_run(config, raw, tmp, sim)
    sim.reset(log=True, faults=True, state=True)
    for delay in _delays(rng, clean):
        disk = new_disk(config)
        raw = request("create_vm", "agent-crash", template_id(sim), VM_PROPS, {"default": dynamic()}, [disk],
                      {"bosh": {"group": "crash"}}, api_version=2, context=STEMCELL_CONTEXT)
        baseline = object_ids(sim)
        label = f"create_vm killed after {delay}s (CPI_CRASH_SEED={SEED})"
        kill_after(config, raw, tmp, delay, sim)
        # the director only sees a failed call; the next deploy calls create_vm again, then set_vm_metadata
        vm = run(config, "create_vm", *json.loads(raw)["arguments"])
        assert vm["error"] is None, f"{label}: retry failed: {vm['error']}"
        vm_cid = vm["result"][0]
        ok(config, "set_vm_metadata", vm_cid, {"director": "d", "deployment": "dep", "name": "web/0"})
        assert ok(config, "has_vm", vm_cid) is True
        keep = baseline | {vm_cid} | {v["id"] for v in sim.inventory()["volumes"]
                                      if v.get("virtualmachineid") == vm_cid}
        recover_and_check(sim, config, keep, {disk}, label)
        ok(config, "delete_vm", vm_cid)
        ok(config, "delete_disk", disk)
        sim.reset(log=True, faults=True, state=True)


def test_kill_during_create_stemcell(slow_sim):
    sim, config, tmp = slow_sim
    rng = random.Random(SEED + 1)
    raw = request("create_stemcell", str(image(tmp)), STEMCELL_PROPS, api_version=2, context=STEMCELL_CONTEXT)
    clean = timed_clean_run(config, raw, tmp, sim)
    sim.reset(log=True, faults=True, state=True)
    for delay in _delays(rng, clean):
        disk = new_disk(config)
        baseline = object_ids(sim)
        label = f"create_stemcell killed after {delay}s (CPI_CRASH_SEED={SEED})"
        kill_after(config, raw, tmp, delay, sim)
        stemcell = run(config, "create_stemcell", str(image(tmp)), STEMCELL_PROPS)
        assert stemcell["error"] is None, f"{label}: retry failed: {stemcell['error']}"
        cid = stemcell["result"]
        time.sleep(PUBLISH_MINUTES * 60 + 0.2)  # past the publish timeout: an unfinished template is an orphan
        settle(sim)
        ready_extra = [t["id"] for t in owned(sim.inventory(), "templates") if t["id"] != cid and t.get("isready")]
        FIGURES.add("crash: ready templates no call returned (unprovable)", len(ready_extra))
        recover_and_check(sim, config, baseline | {cid, *ready_extra}, {disk}, label)
        vm = new_vm_from(sim, config, cid)
        ok(config, "delete_vm", vm)
        sim.reset(log=True, faults=True, state=True)


def new_vm_from(sim: Any, config: Path, stemcell: str) -> str:
    return str(ok(config, "create_vm", "agent-s", stemcell, VM_PROPS, {"default": dynamic()}, [], None)[0])


def test_kill_during_attach_disk(slow_sim):
    sim, config, tmp = slow_sim
    rng = random.Random(SEED + 2)
    vm, disk = new_vm(sim, config), new_disk(config)
    raw = request("attach_disk", vm, disk, api_version=2, context=STEMCELL_CONTEXT)
    clean = timed_clean_run(config, raw, tmp, sim)
    sim.reset(log=True, faults=True, state=True)
    for index, delay in enumerate(_delays(rng, clean)):
        vm, disk = new_vm(sim, config), new_disk(config)
        ok(config, "set_vm_metadata", vm, {"director": "d", "deployment": "dep"})
        raw = request("attach_disk", vm, disk, api_version=2, context=STEMCELL_CONTEXT)
        baseline = object_ids(sim)
        label = f"attach_disk killed after {delay}s (CPI_CRASH_SEED={SEED})"
        kill_after(config, raw, tmp, delay, sim)
        settle(sim)
        if index % 2 == 0:  # the director retries the attach ...
            hint = run(config, "attach_disk", vm, disk)
            assert hint["error"] is None and hint["result"], f"{label}: retry: {hint['error']}"
            assert ok(config, "get_disks", vm) == [disk]
            ok(config, "detach_disk", vm, disk)
        # ... or gives up on the VM (cck recreate): delete_vm must cope with a half-attached disk
        assert run(config, "delete_vm", vm)["error"] is None, label
        assert ok(config, "has_vm", vm) is False
        assert ok(config, "has_disk", disk) is True, f"{label}: the persistent disk is gone"
        recover_and_check(sim, config, baseline, {disk}, label)
        sim.reset(log=True, faults=True, state=True)


def kill_when(config: Path, raw: bytes, tmpdir: Path, sim: Any, command: str, timeout: float = 20) -> None:
    """SIGKILL the call right after it sent ``command`` (its job is slow, so the object is half-made)."""
    sim.reset_log()
    proc = spawn(config, raw, tmpdir)
    seen = wait_until(lambda: any(e["command"] == command for e in sim.request_log()), timeout, interval=0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert seen, f"the call never sent {command}"
    FIGURES.add("crash: processes killed")


@contextlib.contextmanager
def create_vm_killed_at(tmp_path: Path, command: str) -> Iterator[tuple[Any, Path, list[tuple[str, str, str]]]]:
    """create_vm killed right after sending ``command`` (its job slowed to 1 s); yields the leftovers."""
    with Simulator({"job_durations": {command: 1.0}}) as sim:
        config = make_cpi_config(sim, "xen", tmp_path)
        baseline = object_ids(sim)
        raw = request("create_vm", "agent-k", template_id(sim), VM_PROPS, {"default": dynamic()}, [], None,
                      api_version=2, context=STEMCELL_CONTEXT)
        kill_when(config, raw, tmp_path, sim, command)
        settle(sim)
        yield sim, config, cpi_leftovers(sim, baseline)


def test_kill_right_after_deploy_leaves_a_reported_vm(tmp_path):
    """A VM deployed but not yet tagged cannot be proven ours: orphans must at least report it.

    Its ephemeral disk (deployed with it, ``DATA-<n>``) is tagged first, a few ms later: the kill
    may come before or after that, so it may be left tagged (the VM's provable orphan once the VM
    is gone), never as an unreported CPI volume of its own.
    """
    with create_vm_killed_at(tmp_path, "deployVirtualMachine") as (sim, config, left):
        assert {kind for kind, _, _ in left} <= {"virtualmachines", "volumes"}, left
        vms = [item for item in left if item[0] == "virtualmachines"]
        assert len(vms) == 1, left
        reported = {f["id"] for f in findings(orphans(config))}
        assert vms[0][1] in reported


def test_kill_between_tagging_the_disk_and_the_vm(tmp_path):
    with create_vm_killed_at(tmp_path, "createTags") as (sim, config, left):
        # The first createTags is the ephemeral disk's (tagged with its VM's id); the VM's own tags
        # follow within ms. Whatever the kill caught, every CPI leftover is reported by orphans or
        # removed by it.
        assert left, left
        orphans(config, "--delete", "--director-uuid", DIRECTOR_UUID)
        listed = {f["id"] for f in findings(orphans(config))}
        assert all(item[1] in listed or item[1] not in object_ids(sim) for item in left), left
