"""Virtual machine rules: deploy, names, IPs, destroy/expunge, lifecycle."""

from __future__ import annotations

import base64


def test_deploy_returns_id_and_job_then_running(cs) -> None:
    created = cs.deploy(wait=False, name="vm-a", displayname="VM A")
    assert set(created) == {"id", "jobid"}
    job = cs.wait(created["jobid"])
    assert job["jobstatus"] == 1 and job["jobresultcode"] == 0 and job["jobresulttype"] == "object"
    assert job["jobinstanceid"] == created["id"] and job["cmd"].endswith("DeployVMCmd")
    vm = job["jobresult"]["virtualmachine"]
    assert vm["state"] == "Running" and vm["name"] == "vm-a" and vm["displayname"] == "VM A"
    assert vm["nic"][0]["ipaddress"].startswith("10.0.1.") and vm["nic"][0]["isdefault"] is True
    assert vm["hypervisor"] == "XenServer"
    root = cs.one("listVolumes", "volume", virtualmachineid=vm["id"])
    assert root["type"] == "ROOT" and root["deviceid"] == 0 and root["state"] == "Ready"


def test_name_filter_is_substring(cs) -> None:
    cs.deploy(name="web-1")
    cs.deploy(name="web-10")
    cs.deploy(name="db-1")
    names = sorted(v["name"] for v in cs.ok("listVirtualMachines", name="web-1")["virtualmachine"])
    assert names == ["web-1", "web-10"]
    assert cs.ok("listVirtualMachines", name="eb")["count"] == 2


def test_other_name_filters_are_exact(cs) -> None:
    cs.volume(name="data-1")
    cs.volume(name="data-10")
    assert cs.ok("listVolumes", name="data-1")["count"] == 1
    assert cs.ok("listZones", name="zone")["count"] if cs.ok("listZones", name="zone") else True


def test_hostname_must_be_unique_in_network(cs) -> None:
    cs.deploy(name="dup")
    zid = cs.zone()
    status, text = cs.error("deployVirtualMachine", "POST", zoneid=zid, serviceofferingid=cs.offering(),
                            templateid=cs.template(zid), networkids=cs.network(zid), name="dup")
    assert status == 431 and "already exists in the network domain" in text


def test_invalid_hostname(cs) -> None:
    zid = cs.zone()
    status, text = cs.error("deployVirtualMachine", "POST", zoneid=zid, serviceofferingid=cs.offering(),
                            templateid=cs.template(zid), name="1_bad")
    assert status == 431 and text.startswith("Invalid name.")


def test_iptonetworklist_and_ip_in_use(cs) -> None:
    zid = cs.zone()
    net1, net2 = cs.network(zid), cs.network(zid, "bosh-net-2")
    vm = cs.deploy(networkids=None, **{"iptonetworklist[0].networkid": net2, "iptonetworklist[0].ip": "10.0.11.7",
                                       "iptonetworklist[1].networkid": net1, "iptonetworklist[1].ip": "10.0.1.7"})
    assert [(n["ipaddress"], n["isdefault"]) for n in vm["nic"]] == [("10.0.11.7", True), ("10.0.1.7", False)]
    base = {"zoneid": zid, "serviceofferingid": cs.offering(), "templateid": cs.template(zid)}
    status, text = cs.error("deployVirtualMachine", "POST", **base, **{"iptonetworklist[0].networkid": net1,
                                                                        "iptonetworklist[0].ip": "10.0.1.7"})
    assert "already in use" in text
    status, text = cs.error("deployVirtualMachine", "POST", **base, networkids=net1,
                            **{"iptonetworklist[0].networkid": net1})
    assert status == 431 and "can't be specified along with networkIds" in text


def test_destroyed_vm_keeps_ip_until_expunged(cs) -> None:
    vm = cs.deploy(ipaddress="10.0.1.50")
    cs.result("destroyVirtualMachine", id=vm["id"])
    listed = cs.one("listVirtualMachines", "virtualmachine", id=vm["id"])
    assert listed["state"] == "Destroyed" and listed["nic"][0]["ipaddress"] == "10.0.1.50"
    assert cs.ok("listVirtualMachines", state="Present") == {}
    zid = cs.zone()
    args = {"zoneid": zid, "serviceofferingid": cs.offering(), "templateid": cs.template(zid),
            "networkids": cs.network(zid), "ipaddress": "10.0.1.50"}
    assert "already in use" in cs.error("deployVirtualMachine", "POST", **args)[1]
    assert cs.result("expungeVirtualMachine", id=vm["id"]) == {"success": True}
    assert cs.ok("listVirtualMachines", id=vm["id"]) == {}
    assert cs.deploy(ipaddress="10.0.1.50")["nic"][0]["ipaddress"] == "10.0.1.50"


def test_destroy_with_expunge_is_gone_and_data_disks_detached(cs) -> None:
    vm = cs.deploy()
    vol = cs.volume()
    cs.result("attachVolume", id=vol["id"], virtualmachineid=vm["id"])
    root = cs.one("listVolumes", "volume", virtualmachineid=vm["id"], type="ROOT")
    cs.result("destroyVirtualMachine", id=vm["id"], expunge=True)
    assert cs.ok("listVirtualMachines") == {}
    assert cs.ok("listVolumes", id=root["id"]) == {}
    data = cs.one("listVolumes", "volume", id=vol["id"])
    assert data["state"] == "Ready" and "virtualmachineid" not in data


def test_destroy_without_expunge_keeps_data_disk_attached(cs) -> None:
    vm = cs.deploy()
    vol = cs.volume()
    cs.result("attachVolume", id=vol["id"], virtualmachineid=vm["id"])
    cs.result("destroyVirtualMachine", id=vm["id"])
    assert cs.one("listVolumes", "volume", id=vol["id"])["vmstate"] == "Destroyed"
    assert cs.one("listVolumes", "volume", virtualmachineid=vm["id"], type="ROOT")["state"] == "Destroy"


def test_destroy_twice_is_idempotent_and_recover(cs) -> None:
    vm = cs.deploy()
    cs.result("destroyVirtualMachine", id=vm["id"])
    assert cs.result("destroyVirtualMachine", id=vm["id"])["virtualmachine"]["state"] == "Destroyed"
    assert cs.ok("recoverVirtualMachine", "POST", id=vm["id"])["virtualmachine"]["state"] == "Stopped"


def test_expunge_requires_permission(make_sim) -> None:
    c = make_sim({"api": {"allow_user_expunge_recover_vm": False}})
    vm = c.deploy()
    status, text = c.error("destroyVirtualMachine", "POST", id=vm["id"], expunge=True)
    assert status == 531 and "allow.user.expunge.recover.vm" in text


def test_hidden_destroyed_for_plain_users(make_sim) -> None:
    c = make_sim({"api": {"allow_user_view_destroyed_vm": False}})
    vm = c.deploy()
    c.result("destroyVirtualMachine", id=vm["id"])
    assert c.ok("listVirtualMachines") == {}
    assert c.ok("listVirtualMachines", state="Destroyed")["count"] == 1


def test_operations_on_expunged_vm(cs) -> None:
    vm = cs.deploy()
    cs.result("destroyVirtualMachine", id=vm["id"], expunge=True)
    status, text = cs.error("stopVirtualMachine", "POST", id=vm["id"])
    assert status == 431 and "Unable to find a virtual machine" in text


def test_stop_start_reboot(cs) -> None:
    vm = cs.deploy(startvm=False)
    assert vm["state"] == "Stopped"
    assert cs.error("rebootVirtualMachine", "POST", id=vm["id"])[0] == 431
    assert cs.result("startVirtualMachine", id=vm["id"])["virtualmachine"]["state"] == "Running"
    assert cs.result("rebootVirtualMachine", id=vm["id"])["virtualmachine"]["state"] == "Running"
    assert cs.result("stopVirtualMachine", id=vm["id"], forced=True)["virtualmachine"]["state"] == "Stopped"
    assert cs.result("stopVirtualMachine", id=vm["id"])["virtualmachine"]["state"] == "Stopped"


def test_custom_offering_needs_details(cs) -> None:
    zid = cs.zone()
    base = {"zoneid": zid, "serviceofferingid": cs.offering("custom"), "templateid": cs.template(zid),
            "networkids": cs.network(zid)}
    assert "custom parameter values" in cs.error("deployVirtualMachine", "POST", **base)[1]
    vm = cs.deploy(serviceofferingid=cs.offering("custom"), **{"details[0].cpuNumber": 3, "details[0].memory": 3072,
                                                               "details[0].cpuSpeed": 2000})
    assert (vm["cpunumber"], vm["memory"], vm["cpuspeed"]) == (3, 3072, 2000)


def test_rootdisksize_and_data_disk_at_deploy(cs) -> None:
    vm = cs.deploy(rootdisksize=20, diskofferingid=cs.disk_offering("disk-small"))
    vols = cs.ok("listVolumes", virtualmachineid=vm["id"])["volume"]
    sizes = {v["type"]: (v["size"], v["deviceid"]) for v in vols}
    assert sizes == {"ROOT": (20 * 2**30, 0), "DATADISK": (10 * 2**30, 1)}


def test_keypair_and_affinity_checks(cs) -> None:
    zid = cs.zone()
    base = {"zoneid": zid, "serviceofferingid": cs.offering(), "templateid": cs.template(zid),
            "networkids": cs.network(zid)}
    assert cs.error("deployVirtualMachine", "POST", keypair="nokey", **base)[1] == \
        "A key pair with name 'nokey' was not found."
    assert "Unable to find affinity group" in cs.error("deployVirtualMachine", "POST", affinitygroupnames="x",
                                                       **base)[1]
    cs.result("createAffinityGroup", name="ag", type="host anti-affinity")
    vm = cs.deploy(keypair="bosh-key", affinitygroupnames="ag")
    assert vm["keypairs"] == "bosh-key" and vm["affinitygroup"][0]["name"] == "ag"


def test_update_userdata_and_displayname(cs) -> None:
    vm = cs.deploy(userdata=base64.b64encode(b"one").decode())
    two = base64.b64encode(b"two").decode()
    cs.ok("updateVirtualMachine", "POST", id=vm["id"], displayname="renamed", userdata=two)
    assert cs.sim.guest_view(vm["id"])["user_data"] == b"two"
    assert cs.one("listVirtualMachines", "virtualmachine", id=vm["id"])["displayname"] == "renamed"
    listed = cs.one("listVirtualMachines", "virtualmachine", id=vm["id"], userdata=True)
    assert base64.b64decode(listed["userdata"]) == b"two"


def test_pending_job_shows_in_list(cs) -> None:
    cs.sim.faults.job_duration("deployVirtualMachine", 0.3)
    created = cs.deploy(wait=False)
    listed = cs.one("listVirtualMachines", "virtualmachine", id=created["id"])
    assert listed["state"] == "Starting" and listed["jobid"] == created["jobid"] and listed["jobstatus"] == 0
    assert cs.ok("queryAsyncJobResult", jobid=created["jobid"])["jobstatus"] == 0
    assert cs.wait(created["jobid"])["jobstatus"] == 1
    assert cs.ok("listAsyncJobs")["count"] >= 1


def test_template_not_ready_cannot_deploy(cs) -> None:
    tpl = cs.sim.add_template("zone-xen", "not-ready", ready=False)
    zid = cs.zone()
    status, text = cs.error("deployVirtualMachine", "POST", zoneid=zid, serviceofferingid=cs.offering(),
                            templateid=tpl["id"], networkids=cs.network(zid))
    assert status == 431 and "has not been completely downloaded" in text
