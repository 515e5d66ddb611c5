"""Payload comparison against recorded CloudStack responses (Apache Libcloud's, in tests/data).

For every command the fixtures cover and the simulator implements: same top-level key, and
for each object kind (list entries, async job results by key, error bodies) the simulator's
field names are a superset of the recorded ones, except the documented conditional fields.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from cloudstack_simulator.commands import COMMANDS

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "cloudstack-libcloud"  # licence: NOTICE.md there

# Recorded fields a real server only sends in circumstances the scenario does not create,
# or that the recording invented; each with the reason.
CONDITIONAL = {
    ("virtualmachine", "password"): "only in the deployVirtualMachine reply for a password-enabled template",
    ("virtualmachine", "project"): "project-owned resources only",
    ("virtualmachine", "projectid"): "project-owned resources only",
    ("createTags", "id"): "libcloud-made reply: CreateTagsCmd is an async command, its reply is a jobid only",
    ("deleteTags", "id"): "libcloud-made reply: DeleteTagsCmd is async too, a jobid only",
    ("serviceoffering", "domain"): "domain-scoped offerings only; public offerings carry no domain",
    ("serviceoffering", "domainid"): "domain-scoped offerings only; public offerings carry no domain",
    ("queryAsyncJobResult", "jobid"): "2011-era servers embedded the VM's own pending job in job results",
    ("queryAsyncJobResult", "jobstatus"): "2011-era servers embedded the VM's own pending job in job results",
}


def _load() -> dict[str, list[tuple[str, dict[str, Any]]]]:
    by_command: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for path in sorted(FIXTURES.glob("*.json")):
        by_command[path.stem.split("_")[0]].append((path.name, json.loads(path.read_text())))
    return by_command


def _fields(objs: list[Any]) -> set[str]:
    out: set[str] = set()
    for obj in objs:
        if isinstance(obj, dict):
            out |= set(obj)
    return out


@pytest.fixture
def captured(cs) -> dict[str, Any]:
    """Drive a scenario touching every object kind; keep each command's wire replies and job results."""
    replies: dict[str, list[dict[str, Any]]] = defaultdict(list)
    errors: dict[str, dict[str, Any]] = {}
    jobs: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def call(command: str, method: str = "GET", **params: Any) -> dict[str, Any]:
        r = cs.raw(command, method, **params)
        body = r.json()
        if r.status_code != 200:
            errors[command] = body
            return body
        replies[command].append(body)
        inner = next(iter(body.values()))
        if "jobid" in inner and command != "queryAsyncJobResult":
            job = cs.wait(inner["jobid"])
            replies["queryAsyncJobResult"].append({"queryasyncjobresultresponse": job})
            if isinstance(job.get("jobresult"), dict):
                for key, value in job["jobresult"].items():
                    jobs[key].append(value)
        return inner

    zid = cs.zone()
    vm = call("deployVirtualMachine", "POST", zoneid=zid, serviceofferingid=cs.offering(), templateid=cs.template(zid),
              networkids=cs.network(zid), keypair="bosh-key", name="shape")
    call("deployVirtualMachine", "POST", zoneid=zid, serviceofferingid="nope", templateid="nope")
    vol = call("createVolume", "POST", zoneid=zid, diskofferingid=cs.disk_offering(), size=2, name="vol")
    call("attachVolume", "POST", id=vol["id"], virtualmachineid=vm["id"])
    snap = call("createSnapshot", "POST", volumeid=vol["id"])
    call("createTags", "POST", resourceids=vm["id"], resourcetype="UserVm",
         **{"tags[0].key": "k", "tags[0].value": "v"})
    group = call("createAffinityGroup", "POST", name="ag", type="host affinity")
    ip = call("associateIpAddress", "POST", networkid=cs.network(zid))
    nat_ip = cs.one("listPublicIpAddresses", "publicipaddress", ipaddress="203.0.113.10")
    call("enableStaticNat", "POST", ipaddressid=nat_ip["id"], virtualmachineid=vm["id"])
    for command, params in [
        ("listZones", {}), ("listServiceOfferings", {}), ("listDiskOfferings", {}), ("listNetworks", {}),
        ("listTemplates", {"templatefilter": "executable"}), ("listOsTypes", {}), ("listSSHKeyPairs", {}),
        ("listVirtualMachines", {}), ("listVolumes", {}), ("listSnapshots", {}), ("listTags", {}),
        ("listPublicIpAddresses", {}), ("listAffinityGroups", {}), ("listAffinityGroupTypes", {}),
        ("listNics", {"virtualmachineid": vm["id"]}), ("listResourceLimits", {}), ("listCapabilities", {}),
    ]:
        call(command, **params)
    call("rebootVirtualMachine", "POST", id=vm["id"])
    call("stopVirtualMachine", "POST", id=vm["id"])
    call("startVirtualMachine", "POST", id=vm["id"])
    call("detachVolume", "POST", id=vol["id"])
    call("deleteSnapshot", "POST", id=snap["id"])
    call("deleteVolume", "POST", id=vol["id"])
    call("deleteTags", "POST", resourceids=vm["id"], resourcetype="UserVm")
    call("disassociateIpAddress", "POST", id=ip["id"])
    call("disableStaticNat", "POST", ipaddressid=nat_ip["id"])
    call("destroyVirtualMachine", "POST", id=vm["id"], expunge=True)
    call("deleteAffinityGroup", "POST", id=group["id"])
    # A VM with a pending job: lists embed its jobid/jobstatus (UserVmResponse of a VM with a job pending).
    other = call("deployVirtualMachine", "POST", zoneid=zid, serviceofferingid=cs.offering(),
                 templateid=cs.template(zid), networkids=cs.network(zid), name="busy")
    cs.sim.faults.hang_jobs("stopVirtualMachine")
    cs.ok("stopVirtualMachine", "POST", id=other["id"])
    call("listVirtualMachines")
    return {"replies": replies, "errors": errors, "jobs": jobs}


def test_fixture_shapes(captured: dict[str, Any]) -> None:
    fixtures = _load()
    checked, skipped, problems = [], [], []
    sim_jobs: dict[str, list[dict[str, Any]]] = captured["jobs"]
    for command, recordings in sorted(fixtures.items()):
        if command not in COMMANDS:
            skipped.append(command)
            continue
        replies = captured["replies"].get(command, [])
        for name, recorded in recordings:
            top = next(iter(recorded))
            body = recorded[top]
            if "errorcode" in body:
                sim = captured["errors"].get(command)
                assert sim is not None, f"{name}: scenario produced no {command} error"
                sim_top = next(iter(sim))
                if sim_top != top:
                    problems.append(f"{name}: error key {sim_top} != {top}")
                missing = set(body) - set(sim[sim_top])
                if missing:
                    problems.append(f"{name}: error fields missing {sorted(missing)}")
                checked.append(name)
                continue
            assert replies, f"{name}: scenario never called {command}"
            sim_top = next(iter(replies[0]))
            if sim_top != top:
                problems.append(f"{name}: top-level key {sim_top} != {top}")
            sim_bodies = [r[sim_top] for r in replies]
            if command == "queryAsyncJobResult":
                _compare(name, "job", {k for k in body if k != "jobresult"}, _fields(sim_bodies), problems)
                result = body.get("jobresult")
                if isinstance(result, dict):
                    for kind, obj in result.items():
                        if not isinstance(obj, dict):
                            continue
                        if kind not in sim_jobs:
                            skipped.append(f"{name}:{kind}")
                            continue
                        _compare(name, kind, set(obj), _fields(sim_jobs[kind]), problems)
            else:
                scalars = {k for k, v in body.items() if not isinstance(v, (list, dict))}
                sim_scalars = set().union(*(set(b) for b in sim_bodies))
                _compare(name, command, scalars - {"count"}, sim_scalars, problems)
                for key, value in body.items():
                    if isinstance(value, list) and value and isinstance(value[0], dict):
                        sim_objs = [o for b in sim_bodies for o in b.get(key, [])]
                        if not sim_objs:
                            problems.append(f"{name}: simulator has no {key!r} objects")
                            continue
                        _compare(name, key, _fields(value), _fields(sim_objs), problems)
                    elif isinstance(value, dict):
                        sim_objs = [b[key] for b in sim_bodies if key in b]
                        _compare(name, key, set(value), _fields(sim_objs), problems)
            checked.append(name)
    assert not problems, "\n".join(problems)
    print(f"checked {len(checked)} recordings; skipped (not implemented): {sorted(set(skipped))}")
    assert len(checked) >= 60, (len(checked), skipped)


def _compare(name: str, kind: str, recorded: set[str], simulated: set[str], problems: list[str]) -> None:
    command = name.split("_")[0]
    missing = {f for f in recorded - simulated if (kind, f) not in CONDITIONAL and (command, f) not in CONDITIONAL}
    if missing:
        problems.append(f"{name} [{kind}]: simulator lacks {sorted(missing)}")
