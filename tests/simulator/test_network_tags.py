"""Static NAT, public IPs, tags, affinity groups, load balancer membership, catalogue."""

from __future__ import annotations


def _ip(cs, address: str) -> dict:
    return cs.one("listPublicIpAddresses", "publicipaddress", ipaddress=address)


def test_static_nat_one_vm_per_ip(cs) -> None:
    vm1, vm2 = cs.deploy(), cs.deploy()
    ip = _ip(cs, "203.0.113.10")
    assert ip["isstaticnat"] is False
    assert cs.ok("enableStaticNat", "POST", ipaddressid=ip["id"], virtualmachineid=vm1["id"]) == {"success": True}
    listed = _ip(cs, "203.0.113.10")
    assert listed["isstaticnat"] is True and listed["virtualmachineid"] == vm1["id"]
    assert listed["vmipaddress"] == vm1["nic"][0]["ipaddress"]
    status, _ = cs.error("enableStaticNat", "POST", ipaddressid=ip["id"], virtualmachineid=vm2["id"])
    assert status == 537
    other = _ip(cs, "203.0.113.11")
    assert cs.error("enableStaticNat", "POST", ipaddressid=other["id"], virtualmachineid=vm1["id"])[0] == 537
    assert cs.sim.guest_view(vm1["id"])["metadata"]["public-ipv4"] == "203.0.113.10"
    assert cs.result("disableStaticNat", ipaddressid=ip["id"]) == {"success": True}
    gone = cs.job("disableStaticNat", ipaddressid=ip["id"])  # RulesManagerImpl: checked in the job, 530
    assert gone["jobstatus"] == 2 and gone["jobresult"]["errorcode"] == 530
    assert gone["jobresult"]["errortext"] == "Specified IP address id is not associated with any vm Id"
    cs.ok("enableStaticNat", "POST", ipaddressid=ip["id"], virtualmachineid=vm2["id"])
    cs.result("destroyVirtualMachine", id=vm2["id"], expunge=True)
    assert _ip(cs, "203.0.113.10")["isstaticnat"] is False


def test_associate_and_disassociate(cs) -> None:
    zid = cs.zone()
    created = cs.ok("associateIpAddress", "POST", zoneid=zid)
    ip = cs.wait(created["jobid"])["jobresult"]["ipaddress"]
    assert ip["id"] == created["id"] and ip["ipaddress"] == "203.0.113.13"
    assert cs.result("disassociateIpAddress", id=ip["id"]) == {"success": True}
    assert cs.ok("listPublicIpAddresses", id=ip["id"]) == {}


def test_tags_create_list_filter_delete(cs) -> None:
    vm = cs.deploy()
    vol = cs.volume()
    cs.result("createTags", resourceids=vm["id"], resourcetype="UserVm",
              **{"tags[0].key": "bosh-cpi", "tags[0].value": "cloudstack", "tags[1].key": "bosh-role",
                 "tags[1].value": "vm"})
    cs.result("createTags", resourceids=vol["id"], resourcetype="volume",
              **{"tags[0].key": "bosh-cpi", "tags[0].value": "cloudstack"})
    listed = cs.one("listVirtualMachines", "virtualmachine", **{"tags[0].key": "bosh-role", "tags[0].value": "vm"})
    assert {t["key"]: t["value"] for t in listed["tags"]} == {"bosh-cpi": "cloudstack", "bosh-role": "vm"}
    assert cs.ok("listVolumes", **{"tags[0].key": "bosh-cpi"})["count"] == 1
    assert cs.ok("listVirtualMachines", **{"tags[0].key": "bosh-role", "tags[0].value": "disk"}) == {}
    tags = cs.ok("listTags", resourcetype="UserVm")["tag"]
    assert {(t["key"], t["resourceid"], t["resourcetype"]) for t in tags} == {
        ("bosh-cpi", vm["id"], "UserVm"), ("bosh-role", vm["id"], "UserVm")}
    dup = cs.job("createTags", resourceids=vm["id"], resourcetype="UserVm", **{"tags[0].key": "bosh-cpi",
                                                                                "tags[0].value": "x"})
    assert dup["jobstatus"] == 2
    cs.result("deleteTags", resourceids=vm["id"], resourcetype="UserVm", **{"tags[0].key": "bosh-role"})
    assert [t["key"] for t in cs.ok("listTags", resourceid=vm["id"])["tag"]] == ["bosh-cpi"]
    cs.result("deleteTags", resourceids=vm["id"], resourcetype="UserVm")
    assert cs.ok("listTags", resourceid=vm["id"]) == {}


def test_tags_on_templates_and_snapshots_and_bad_types(cs) -> None:
    tid = cs.template(cs.zone())
    cs.result("createTags", resourceids=tid, resourcetype="Template", **{"tags[0].key": "k", "tags[0].value": "v"})
    assert cs.ok("listTemplates", templatefilter="self", **{"tags[0].key": "k"})["count"] == 1
    job = cs.job("createTags", resourceids=cs.zone(), resourcetype="Template", **{"tags[0].key": "k"})
    assert job["jobstatus"] == 2 and "Unable to find resource" in job["jobresult"]["errortext"]
    assert cs.error("createTags", "POST", resourceids=tid, resourcetype="Zone", **{"tags[0].key": "k"})[0] == 431
    assert cs.error("createTags", "POST", resourceids=tid, resourcetype="Bogus", **{"tags[0].key": "k"})[0] == 431


def test_tags_removed_with_expunge(cs) -> None:
    vm = cs.deploy()
    cs.result("createTags", resourceids=vm["id"], resourcetype="UserVm", **{"tags[0].key": "a", "tags[0].value": "b"})
    cs.result("destroyVirtualMachine", id=vm["id"], expunge=True)
    assert cs.ok("listTags") == {}


def test_affinity_groups(cs) -> None:
    assert [t["type"] for t in cs.ok("listAffinityGroupTypes")["affinityGroupType"]] == [
        "host anti-affinity", "host affinity"]
    created = cs.ok("createAffinityGroup", "POST", name="g1", type="host anti-affinity")
    group = cs.wait(created["jobid"])["jobresult"]["affinitygroup"]
    assert group["id"] == created["id"] and group["type"] == "host anti-affinity"
    assert "already exists" in cs.error("createAffinityGroup", "POST", name="g1", type="host affinity")[1]
    assert cs.error("createAffinityGroup", "POST", name="g2", type="rack affinity")[0] == 431
    vm = cs.deploy(affinitygroupids=group["id"])
    listed = cs.one("listAffinityGroups", "affinitygroup", name="g1")
    assert listed["virtualmachineIds"] == [vm["id"]]
    assert cs.one("listAffinityGroups", "affinitygroup", virtualmachineid=vm["id"])["id"] == group["id"]
    job = cs.job("deleteAffinityGroup", id=group["id"])
    assert job["jobstatus"] == 2 and job["jobresultcode"] == 536
    cs.result("destroyVirtualMachine", id=vm["id"], expunge=True)
    assert cs.result("deleteAffinityGroup", name="g1") == {"success": True}
    assert cs.ok("listAffinityGroups") == {}


def test_load_balancer_membership(cs) -> None:
    vm = cs.deploy()
    ip = _ip(cs, "203.0.113.12")
    rule = cs.result("createLoadBalancerRule", publicipid=ip["id"], name="web", publicport=80, privateport=8080,
                     algorithm="roundrobin")["loadbalancer"]
    assert cs.result("assignToLoadBalancerRule", id=rule["id"], virtualmachineids=vm["id"]) == {"success": True}
    assert cs.one("listLoadBalancerRules", "loadbalancerrule", virtualmachineid=vm["id"])["id"] == rule["id"]
    assert cs.job("assignToLoadBalancerRule", id=rule["id"], virtualmachineids=vm["id"])["jobstatus"] == 2
    cs.result("removeFromLoadBalancerRule", id=rule["id"], virtualmachineids=vm["id"])
    assert cs.ok("listLoadBalancerRules", virtualmachineid=vm["id"]) == {}


def test_networks_per_zone_and_userdata_provider(cs) -> None:
    nets = cs.ok("listNetworks", name="bosh-net")["network"]
    assert sorted((n["zonename"], n["cidr"], n["gateway"]) for n in nets) == [
        ("zone-kvm", "10.0.2.0/24", "10.0.2.1"), ("zone-vmware", "10.0.3.0/24", "10.0.3.1"),
        ("zone-xen", "10.0.1.0/24", "10.0.1.1")]
    cd = cs.one("listNetworks", "network", name="bosh-cd-net")
    provider = next(s for s in cd["service"] if s["name"] == "UserData")["provider"][0]["name"]
    assert provider == "ConfigDrive" and cd["zonename"] == "zone-kvm"


def test_nics(cs) -> None:
    vm = cs.deploy()
    nic = cs.one("listNics", "nic", virtualmachineid=vm["id"])
    assert nic["ipaddress"] == vm["nic"][0]["ipaddress"] and nic["macaddress"].startswith("02:00:")


def test_default_catalogue(cs) -> None:
    offerings = {o["name"]: o for o in cs.ok("listServiceOfferings")["serviceoffering"]}
    assert (offerings["small"]["cpunumber"], offerings["small"]["memory"], offerings["small"]["cpuspeed"]) == (
        1, 1024, 1000)
    assert offerings["medium"]["memory"] == 4096 and offerings["large"]["cpunumber"] == 4
    assert offerings["custom"]["iscustomized"] is True and "cpunumber" not in offerings["custom"]
    disks = {o["name"]: o for o in cs.ok("listDiskOfferings")["diskoffering"]}
    assert disks["disk-small"]["disksize"] == 10 and disks["disk-large"]["disksize"] == 100
    assert disks["disk-custom"]["iscustomized"] is True
    assert cs.one("listSSHKeyPairs", "sshkeypair", name="bosh-key")["fingerprint"].count(":") == 15
    zones = {z["name"] for z in cs.ok("listZones")["zone"]}
    assert zones == {"zone-xen", "zone-kvm", "zone-vmware"}
    assert {h["name"] for h in cs.ok("listHypervisors")["hypervisor"]} == {"XenServer", "KVM", "VMware"}
    descs = {o["description"] for o in cs.ok("listOsTypes")["ostype"]}
    assert {"Other PV (64-bit)", "Other Linux (64-bit)", "Ubuntu 22.04 LTS"} <= descs
    assert cs.ok("listResourceLimits")["count"] >= 8
    caps = cs.ok("listHypervisorCapabilities")["hypervisorCapabilities"]
    assert {c["hypervisor"]: c["maxdatavolumeslimit"] for c in caps}["XenServer"] == 6


def test_guest_view_user_data_sources(cs) -> None:
    import base64
    import json

    ud = base64.b64encode(b'{"agent_id": "a"}').decode()
    xen = cs.deploy(userdata=ud, keypair="bosh-key")
    view = cs.sim.guest_view(xen["id"])
    assert view["user_data"] == b'{"agent_id": "a"}' and view["user_data_source"] == "virtual-router"
    assert view["config_drive"] is None and view["metadata"]["instance-id"] == xen["id"]
    assert view["metadata"]["public-keys"].startswith("ssh-ed25519 ")
    kzid = cs.zone("zone-kvm")
    kvm = cs.deploy(zone="zone-kvm", userdata=ud, networkids=cs.network(kzid, "bosh-cd-net"))
    view = cs.sim.guest_view(kvm["id"])
    assert view["user_data_source"] == "configdrive" and view["config_drive_label"] == "config-2"
    files = view["config_drive"]
    assert files["openstack/latest/user_data"] == b'{"agent_id": "a"}'
    meta = json.loads(files["openstack/latest/meta_data.json"])
    assert meta["uuid"] == kvm["id"] and meta["availability_zone"] == "zone-kvm"
    assert json.loads(files["openstack/latest/network_data.json"])["links"][0]["id"] == "eth0"
