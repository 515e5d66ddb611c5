"""Fault injection, from Python and over the /_sim/ admin API."""

from __future__ import annotations

import time

import pytest
import requests


def test_fail_next_counts_down(cs) -> None:
    cs.sim.faults.fail_next("listZones", n=2, errorcode=530, errortext="boom")
    for _ in range(2):
        r = cs.raw("listZones")
        assert r.status_code == 530
        assert r.json() == {"listzonesresponse": {"uuidList": [], "errorcode": 530, "cserrorcode": 9999,
                                                  "errortext": "boom"}}
    assert cs.raw("listZones").status_code == 200


def test_fail_next_with_other_http_status_and_nothing_executed(cs) -> None:
    cs.sim.faults.fail_next("createVolume", errorcode=534, errortext="later", http_status=503)
    r = cs.raw("createVolume", "POST", zoneid=cs.zone(), diskofferingid=cs.disk_offering(), size=1)
    assert r.status_code == 503 and r.json()["createvolumeresponse"]["errorcode"] == 534
    assert cs.sim.inventory()["volumes"] == []


def test_fail_jobs_deploy_leaves_vm_in_error(cs) -> None:
    cs.sim.faults.fail_jobs("deployVirtualMachine", errorcode=533, errortext="no capacity")
    created = cs.deploy(wait=False)
    job = cs.wait(created["jobid"])
    assert (job["jobstatus"], job["jobresultcode"]) == (2, 533)
    assert job["jobresult"] == {"errorcode": 533, "errortext": "no capacity"}
    assert cs.one("listVirtualMachines", "virtualmachine", id=created["id"])["state"] == "Error"
    assert cs.result("destroyVirtualMachine", id=created["id"], expunge=True)
    assert cs.deploy()["state"] == "Running"  # only n=1 job failed


def test_job_duration_and_config_durations(make_sim) -> None:
    cs = make_sim({"job_durations": {"createVolume": 0.4}})
    created = cs.ok("createVolume", "POST", zoneid=cs.zone(), diskofferingid=cs.disk_offering(), size=1)
    assert cs.ok("queryAsyncJobResult", jobid=created["jobid"])["jobstatus"] == 0
    started = time.monotonic()
    assert cs.wait(created["jobid"])["jobstatus"] == 1
    assert time.monotonic() - started > 0.2
    cs.sim.faults.job_duration("createVolume", 0)
    assert cs.job("createVolume", zoneid=cs.zone(), diskofferingid=cs.disk_offering(), size=1)["jobstatus"] == 1


def test_hang_jobs(cs) -> None:
    cs.sim.faults.hang_jobs("attachVolume")
    vm, vol = cs.deploy(), cs.volume()
    jobid = cs.ok("attachVolume", "POST", id=vol["id"], virtualmachineid=vm["id"])["jobid"]
    with pytest.raises(AssertionError, match="still pending"):
        cs.wait(jobid, timeout=0.3)
    assert cs.one("listVolumes", "volume", id=vol["id"])["state"] == "Allocated"


def test_drop_connections(cs) -> None:
    cs.sim.faults.drop_connections("listZones")
    with pytest.raises(requests.ConnectionError):
        cs.raw("listZones")
    assert cs.raw("listZones").status_code == 200
    assert [e["status"] for e in cs.sim.request_log() if e["command"] == "listZones"] == [0, 200]


def test_throttle_fault_and_clear(cs) -> None:
    cs.sim.faults.throttle(2)
    codes = [cs.raw("listZones").status_code for _ in range(5)]
    assert codes.count(429) >= 2
    cs.sim.faults.clear()
    assert cs.raw("listZones").status_code == 200


def test_admin_http_faults(cs) -> None:
    admin = cs.sim.base_url + "/_sim"
    r = requests.post(admin + "/faults", json={"action": "fail_next", "command": "listZones", "errorcode": 431,
                                               "errortext": "via http"}, timeout=5)
    assert r.json() == {"success": True}
    assert requests.get(admin + "/faults", timeout=5).json()["fail_next"]["listZones"][0]["n"] == 1
    assert cs.error("listZones") == (431, "via http")
    assert requests.post(admin + "/faults", json={"action": "nope"}, timeout=5).status_code == 400
    assert requests.post(admin + "/faults", json={"action": "fail_next", "bogus": 1}, timeout=5).status_code == 400
    requests.post(admin + "/faults", json={"action": "drop_connections", "command": "listZones"}, timeout=5)
    requests.post(admin + "/faults", json={"action": "clear"}, timeout=5)
    assert cs.raw("listZones").status_code == 200
