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
