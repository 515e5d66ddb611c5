"""Server rules added for issue 15 (each cited in the simulator beside the rule; ledger in docs/simulator.md)."""

from __future__ import annotations


def _base(cs, offering: str) -> dict:
    zid = cs.zone()
    return {"zoneid": zid, "serviceofferingid": cs.offering(offering), "templateid": cs.template(zid),
            "networkids": cs.network(zid), "details[0].cpuNumber": 2, "details[0].memory": 2048}


def test_fixed_speed_custom_offering_refuses_cpu_speed(cs) -> None:
    """UserVmManagerImpl.validateCustomParameters: a fixed speed is not customisable."""
    offering = cs.one("listServiceOfferings", "serviceoffering", name="custom-fixed-speed")
    assert offering["iscustomized"] is True and offering["cpuspeed"] == 2000 and "cpunumber" not in offering
    status, text = cs.error("deployVirtualMachine", "POST", **_base(cs, "custom-fixed-speed"),
                            **{"details[0].cpuSpeed": 2000})
    assert status == 431
    assert text == (f"The cpu speed of this offering id:{offering['id']} is not customizable. This is predefined "
                    "in the template.")
    vm = cs.deploy(**_base(cs, "custom-fixed-speed"))
    assert (vm["cpunumber"], vm["memory"], vm["cpuspeed"]) == (2, 2048, 2000)


def test_custom_offering_without_speed_requires_cpu_speed(cs) -> None:
    status, text = cs.error("deployVirtualMachine", "POST", **_base(cs, "custom"))
    assert (status, text) == (431, "Invalid cpu speed value, specify a value between 1 and 2147483647")


def test_create_tags_refuses_an_empty_value_in_the_job(cs) -> None:
    """TaggedResourceManagerImpl.createTags: checked in the transaction (the job), reported as 530."""
    vm = cs.deploy()
    job = cs.job("createTags", resourcetype="UserVm", resourceids=vm["id"],
                 **{"tags[0].key": "a", "tags[0].value": "1", "tags[1].key": "b", "tags[1].value": ""})
    assert job["jobstatus"] == 2 and job["jobresult"]["errorcode"] == 530
    assert job["jobresult"]["errortext"] == "Value for the key b is either null or empty"
    assert not [t for t in cs.sim.inventory()["tags"] if t["resourceid"] == vm["id"]]  # nothing half-applied


def test_non_root_admin_reads_no_cause_for_530_533_534(make_sim) -> None:
    """ApiServer.handleRequest hides these texts from callers that are not root admins (sync and create
    phase); 431 and a ServerApiException thrown by the command itself keep theirs."""
    cs = make_sim({"role": {"name": "User", "type": "User"}})
    vm = cs.deploy()
    ip = vm["nic"][0]["ipaddress"]
    zid = cs.zone()
    status, text = cs.error("deployVirtualMachine", "POST", zoneid=zid, serviceofferingid=cs.offering(),
                            templateid=cs.template(zid), **{"iptonetworklist[0].networkid": cs.network(zid),
                                                           "iptonetworklist[0].ip": ip})
    assert (status, text) == (533, "Internal error executing command, please contact your system administrator")
    assert cs.error("listApis", name="noSuchApi")[1].startswith("Api Discovery plugin")  # ServerApiException
    assert "Invalid parameter id" in cs.error("listVirtualMachines", id="not-a-uuid")[1]  # 431


def test_root_admin_reads_the_cause(cs) -> None:
    vm = cs.deploy()
    zid = cs.zone()
    status, text = cs.error("deployVirtualMachine", "POST", zoneid=zid, serviceofferingid=cs.offering(),
                            templateid=cs.template(zid), **{"iptonetworklist[0].networkid": cs.network(zid),
                                                           "iptonetworklist[0].ip": vm["nic"][0]["ipaddress"]})
    assert status == 533 and "already in use" in text


def test_offering_moves_keep_strictness_and_storage_tags(cs) -> None:
    """VolumeApiServiceImpl.validateVolumeResizeWithNewDiskOfferingAndLoad and its offering checks."""
    ssd = cs.one("listDiskOfferings", "diskoffering", name="disk-ssd")
    strict = cs.one("listDiskOfferings", "diskoffering", name="disk-strict-10")
    assert ssd["tags"] == "ssd" and strict["disksizestrictness"] is True
    vol = cs.result("createVolume", zoneid=cs.zone(), diskofferingid=ssd["id"], size=2, name="t")["volume"]
    job = cs.job("changeOfferingForVolume", id=vol["id"], diskofferingid=cs.disk_offering("disk-large"))
    assert job["jobstatus"] == 2 and "does not have tags as in existing disk offering" in job["jobresult"]["errortext"]
    job = cs.job("resizeVolume", id=vol["id"], diskofferingid=strict["id"])
    assert job["jobstatus"] == 2
    assert job["jobresult"]["errortext"] == "Disk offering size strictness does not match with new disk offering."
    fixed = cs.result("createVolume", zoneid=cs.zone(), diskofferingid=strict["id"], name="s")["volume"]
    job = cs.job("resizeVolume", id=fixed["id"], diskofferingid=cs.disk_offering(), size=20)
    assert job["jobstatus"] == 2 and job["jobresult"]["errortext"].endswith("since disk offering's size is fixed")


def test_reads_third_party_clients_make(cs) -> None:
    """listPortForwardingRules/listIpForwardingRules (none exist: the server's empty {}) and listNetworkOfferings."""
    assert cs.ok("listPortForwardingRules", listall=True) == {}
    assert cs.ok("listIpForwardingRules") == {}
    offerings = cs.ok("listNetworkOfferings")
    assert offerings["count"] == len(offerings["networkoffering"]) == 3
    nouserdata = cs.one("listNetworkOfferings", "networkoffering", name="bosh-isolated-nouserdata")
    assert "UserData" not in {s["name"] for s in nouserdata["service"]} and nouserdata["guestiptype"] == "Isolated"
    assert cs.error("listPortForwardingRules", ipaddressid="not-a-uuid")[0] == 431
