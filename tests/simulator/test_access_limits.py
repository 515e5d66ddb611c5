"""The account's role (listApis, denied commands) and resource limits; networks without UserData."""

from __future__ import annotations

import pytest

from cloudstack_simulator import Simulator
from cloudstack_simulator.config import ConfigError

USER = {"role": {"name": "CPI user", "type": "User", "denied_commands": ["getUploadParamsForTemplate"]}}


def test_root_admin_may_call_everything_and_has_no_limits(cs) -> None:
    apis = cs.ok("listApis")
    names = {a["name"] for a in apis["api"]}
    assert apis["count"] == len(names)
    assert {"getUploadParamsForTemplate", "listApis", "changeOfferingForVolume"} <= names
    one = cs.ok("listApis", name="deployVirtualMachine")
    assert one["count"] == 1 and one["api"][0]["isasync"] is True
    limits = cs.ok("listResourceLimits")["resourcelimit"]
    assert {r["resourcetypename"]: r["max"] for r in limits}["template"] == -1
    assert all(r["max"] == -1 for r in limits)


def test_list_apis_name_is_exact_and_unknown_is_530(cs) -> None:
    status, text = cs.error("listApis", name="deployVirtual")
    assert status == 530 and text == "Api Discovery plugin was unable to find an api by that name or process any apis"


def test_denied_command_is_432_and_left_out_of_list_apis(make_sim) -> None:
    cs = make_sim(USER)
    assert "getUploadParamsForTemplate" not in {a["name"] for a in cs.ok("listApis")["api"]}
    status, text = cs.error("listApis", name="getUploadParamsForTemplate")
    assert status == 530  # a denied name answers like an unknown one
    status, body = cs.call("getUploadParamsForTemplate", "POST", name="x", format="VHD", hypervisor="XenServer",
                           zoneid=cs.zone(), ostypeid="x")
    assert status == 432 and body["cserrorcode"] == 9999
    assert body["errortext"] == "The API [getUploadParamsForTemplate] does not exist or is not available for the " \
                                "account admin."
    raw = cs.raw("getUploadParamsForTemplate", "POST", name="x")
    assert set(raw.json()) == {"errorresponse"}
    assert cs.ok("listApis", name="registerTemplate")["count"] == 1


def test_user_limits_default_and_configured(make_sim) -> None:
    cs = make_sim({**USER, "resource_limits": {"volume": 2, "secondary_storage": 0}})
    rows = {r["resourcetypename"]: r for r in cs.ok("listResourceLimits")["resourcelimit"]}
    assert rows["volume"]["max"] == 2 and rows["volume"]["resourcetype"] == "2"
    assert rows["secondary_storage"]["max"] == 0 and rows["template"]["max"] == 20  # max.account.templates
    assert cs.ok("listResourceLimits", resourcetype="4")["resourcelimit"][0]["resourcetypename"] == "template"


def test_volume_limit_is_enforced_at_create(make_sim) -> None:
    cs = make_sim({**USER, "resource_limits": {"volume": 2}})
    cs.volume()
    cs.volume()
    status, text = cs.error("createVolume", "POST", zoneid=cs.zone(), diskofferingid=cs.disk_offering(), size=1)
    assert status == 535
    assert text.startswith("Maximum amount of resources of Type = 'volume', tag = 'null' for Account Name = admin")
    assert "Account Resource Limit = 2, Current Account Resource Amount = 2" in text
    # a VM brings a ROOT volume, so deploy is refused too, before anything is created
    status, _ = cs.call("deployVirtualMachine", "POST", zoneid=cs.zone(), serviceofferingid=cs.offering(),
                        templateid=cs.template(cs.zone()), networkids=cs.network(cs.zone()))
    assert status == 535
    assert cs.ok("listVirtualMachines") == {}


def test_primary_storage_limit(make_sim) -> None:
    cs = make_sim({**USER, "resource_limits": {"primary_storage": 10}})
    cs.volume(size=8)
    status, text = cs.error("createVolume", "POST", zoneid=cs.zone(), diskofferingid=cs.disk_offering(), size=4)
    assert status == 535 and "'primary_storage'" in text


def test_template_limit(make_sim) -> None:
    cs = make_sim({"role": {"type": "User"}, "resource_limits": {"template": 0}})
    zone = cs.zone()
    ostype = cs.ok("listOsTypes", description="Other Linux (64-bit)")["ostype"][0]["id"]
    status, text = cs.error("getUploadParamsForTemplate", "POST", name="s", format="VHD", hypervisor="XenServer",
                            zoneid=zone, ostypeid=ostype)
    # GetUploadParamsForTemplateCmd wraps the ResourceAllocationException into a 530
    assert status == 530 and text.startswith("exception while registering template: Maximum amount of resources of "
                                             "Type = 'template'")
    status, text = cs.error("registerTemplate", "POST", name="s", format="VHD", hypervisor="XenServer", zoneid=zone,
                            ostypeid=ostype, url="http://127.0.0.1:1/s.vhd", displaytext="s")
    assert status == 535 and "'template'" in text
    assert {t["name"] for t in cs.ok("listTemplates", templatefilter="self")["template"]} == {
        "bosh-stemcell-xen", "bosh-stemcell-kvm", "bosh-stemcell-vmware"}  # nothing new was registered


@pytest.mark.parametrize("config, key", [
    ({"role": {"denied_commands": ["listZones"]}}, "role.denied_commands"),
    ({"role": {"type": "Owner"}}, "role.type"),
    ({"resource_limits": {"volumes": 3}}, "resource_limits.volumes"),
    ({"resource_limits": {"volume": -2}}, "resource_limits.volume"),
    ({"network_offerings": [{"name": "x", "userdata_provider": "Magic"}]}, "userdata_provider"),
])
def test_bad_role_and_limit_config(config, key) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        Simulator(config)


def test_network_without_user_data_service(cs) -> None:
    zone = cs.zone()
    net = cs.one("listNetworks", "network", zoneid=zone, name="bosh-nouserdata-net")
    assert "UserData" not in {s["name"] for s in net["service"]}
    assert net["networkofferingname"] == "bosh-isolated-nouserdata"
    status, text = cs.error("deployVirtualMachine", "POST", zoneid=zone, serviceofferingid=cs.offering(),
                            templateid=cs.template(zone), networkids=net["id"], userdata="eyJhIjogMX0=")
    assert status == 431 and "no support for UserData service in the default network bosh-nouserdata-net" in text
    vm = cs.deploy(networkids=net["id"])
    assert cs.error("updateVirtualMachine", "POST", id=vm["id"], userdata="eyJhIjogMX0=") == (
        530, "Failed to reset userdata for the virtual machine ")
    view = cs.sim.guest_view(vm["id"])
    assert view["user_data"] is None and view["user_data_source"] is None and view["metadata"] == {}
    assert view["config_drive"] is None
