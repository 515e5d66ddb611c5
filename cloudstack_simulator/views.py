"""Render internal records as API objects, with the field names of real responses.

Field sets follow the server's response classes and the recorded libcloud fixtures; fields that a
real server omits when empty are omitted here too (the server: "if there is no value for a
response field, it will not appear").
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

from . import models as m
from .state import State


def _common(st: State) -> dict[str, Any]:
    return {"account": st.cfg["account"], "domainid": st.domain_id, "domain": st.cfg["domain"]}


def tags_of(st: State, resource_id: str) -> list[dict[str, Any]]:
    return [tag_view(st, t) for t in st.tags if t.resource_id == resource_id]


def tag_view(st: State, t: m.Tag) -> dict[str, Any]:
    return {"key": t.key, "value": t.value, "resourcetype": t.resource_type, "resourceid": t.resource_id,
            **_common(st)}


def zone_view(st: State, z: m.Zone) -> dict[str, Any]:
    return {"id": z.id, "name": z.name, "description": z.name, "networktype": "Advanced",
            "securitygroupsenabled": False, "localstorageenabled": False, "allocationstate": "Enabled",
            "dhcpprovider": "VirtualRouter", "zonetoken": z.id[:8], "dns1": z.dns1, "internaldns1": z.internaldns1,
            "guestcidraddress": "10.0.0.0/8", "type": "Core", "tags": []}


def service_offering_view(st: State, o: m.ServiceOffering) -> dict[str, Any]:
    out: dict[str, Any] = {"id": o.id, "name": o.name, "displaytext": o.displaytext}
    if not o.customized:
        out.update(cpunumber=o.cpunumber, cpuspeed=o.cpuspeed, memory=o.memory)
    elif o.cpuspeed is not None:  # "custom constrained": the speed is fixed and shown
        out["cpuspeed"] = o.cpuspeed
    out.update(created=o.created, storagetype="shared", offerha=False, limitcpuuse=False,
               isvolatile=False, issystem=False, defaultuse=False, iscustomized=o.customized,
               networkrate=200, tags="", dynamicscalingenabled=True, hasannotations=False)
    return out


def disk_offering_view(st: State, o: m.DiskOffering) -> dict[str, Any]:
    out: dict[str, Any] = {"id": o.id, "name": o.name, "displaytext": o.displaytext, "disksize": o.disksize,
                           "created": o.created, "iscustomized": o.customized, "iscustomizediops": False,
                           "storagetype": "shared", "provisioningtype": "thin", "displayoffering": True}
    if o.tags:
        out["tags"] = o.tags
    if st.profile.has("resize_volume_417"):  # DiskOfferingResponse.disksizestrictness, since 4.17
        out["disksizestrictness"] = o.strict
    return out


def ostype_view(st: State, o: m.OsType) -> dict[str, Any]:
    return {"id": o.id, "description": o.description, "name": o.description, "oscategoryid": o.oscategoryid,
            "isuserdefined": False, "fordisplay": True}


def keypair_view(st: State, k: m.KeyPair) -> dict[str, Any]:
    return {"id": k.id, "name": k.name, "fingerprint": k.fingerprint, **_common(st)}


_ROUTER_OFFERING_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "cloudstack-simulator/System Offering For Software Router"))


def offering_services(off: m.NetworkOffering) -> list[dict[str, Any]]:
    services = [{"name": s, "provider": [{"name": "VirtualRouter"}]}
                for s in ("Dhcp", "Dns", "SourceNat", "StaticNat", "Lb", "Firewall", "PortForwarding")]
    if off.userdata_provider is not None:
        services.append({"name": "UserData", "provider": [{"name": off.userdata_provider}]})
    return services


def network_offering_view(st: State, off: m.NetworkOffering) -> dict[str, Any]:
    """Shaped on a recorded listNetworkOfferings answer (libcloud fixture)."""
    return {"id": off.id, "name": off.name, "displaytext": off.name, "traffictype": "Guest", "isdefault": False,
            "specifyvlan": False, "conservemode": True, "specifyipranges": False, "availability": "Optional",
            "networkrate": -1, "state": "Enabled", "guestiptype": "Isolated", "service": offering_services(off),
            "serviceofferingid": _ROUTER_OFFERING_ID,  # the virtual router's system offering
            "forvpc": False, "ispersistent": False, "egressdefaultpolicy": False, "supportsstrechedl2subnet": False}


def network_view(st: State, n: m.Network) -> dict[str, Any]:
    zone = st.get("zone", n.zone_id, True)
    off = st.get("networkoffering", n.offering_id, True)
    services = offering_services(off)
    hosts = list(ipaddress.ip_network(n.cidr).hosts())
    return {
        "id": n.id, "name": n.name, "displaytext": n.name, "zoneid": n.zone_id, "zonename": zone.name,
        "type": "Isolated", "traffictype": "Guest", "cidr": n.cidr, "networkcidr": n.cidr, "gateway": n.gateway,
        "netmask": n.netmask, "dns1": zone.dns1, "dns2": "8.8.4.4", "networkdomain": "cs1cloud.internal",
        "state": "Implemented", "vlan": str(n.vlan), "broadcasturi": f"vlan://{n.vlan}",
        "broadcastdomaintype": "Vlan", "isolationuri": f"vlan://{n.vlan}", "canusefordeploy": True,
        "isdefault": False, "isshared": False, "issystem": False, "acltype": "Account", "specifyipranges": False,
        "securitygroupenabled": False, "subdomainaccess": False, "restartrequired": False, "related": n.id,
        "networkofferingid": off.id, "networkofferingname": off.name, "networkofferingdisplaytext": off.name,
        "networkofferingavailability": "Optional", "networkofferingconservemode": True,
        "physicalnetworkid": zone.id, "ispersistent": False, "displaynetwork": True, "service": services,
        "startip": str(hosts[0]), "endip": str(hosts[-1]), "tags": tags_of(st, n.id), **_common(st),
    }


def nic_view(st: State, vm: m.VirtualMachine, nic: m.Nic) -> dict[str, Any]:
    net = st.get("network", nic.network_id, True)
    return {"id": nic.id, "networkid": net.id, "networkname": net.name, "netmask": net.netmask,
            "gateway": net.gateway, "ipaddress": nic.ipaddress, "isolationuri": f"vlan://{net.vlan}",
            "broadcasturi": f"vlan://{net.vlan}", "traffictype": "Guest", "type": "Isolated",
            "isdefault": nic.isdefault, "macaddress": nic.macaddress, "deviceid": str(nic.deviceid),
            "virtualmachineid": vm.id, "secondaryip": [], "extradhcpoption": []}


def vm_view(st: State, vm: m.VirtualMachine, pending: Any = None) -> dict[str, Any]:
    zone = st.get("zone", vm.zone_id, True)
    tpl = st.get("template", vm.template_id, True)
    so = st.get("serviceoffering", vm.service_offering_id, True)
    os_obj = st.get("ostype", tpl.ostype_id, True)
    groups = [st.get("affinitygroup", g, True) for g in vm.affinity_group_ids]
    public = next((ip for ip in st.live("publicip") if ip.static_nat_vm_id == vm.id), None)
    out: dict[str, Any] = {
        "id": vm.id, "name": vm.name, "displayname": vm.displayname, "instancename": f"i-2-{vm.num}-VM",
        **_common(st), "created": vm.created, "state": vm.state, "haenable": False,
        "zoneid": zone.id, "zonename": zone.name, "templateid": tpl.id, "templatename": tpl.name,
        "templatedisplaytext": tpl.displaytext, "passwordenabled": tpl.passwordenabled,
        "serviceofferingid": so.id, "serviceofferingname": so.name,
        "cpunumber": vm.cpunumber, "cpuspeed": vm.cpuspeed, "memory": vm.memory,
        "cpuused": "0%", "networkkbsread": 0, "networkkbswrite": 0, "diskkbsread": 0, "diskkbswrite": 0,
        "guestosid": os_obj.id, "ostypeid": os_obj.id, "osdisplayname": os_obj.description,
        "rootdeviceid": 0, "rootdevicetype": "ROOT", "securitygroup": [],
        "nic": [nic_view(st, vm, n) for n in vm.nics], "hypervisor": zone.hypervisor,
        "affinitygroup": [{"id": g.id, "name": g.name, "type": g.type, "description": g.description}
                          for g in groups if g is not None],
        "displayvm": True, "isdynamicallyscalable": False, "boottype": "BIOS", "bootmode": "LEGACY",
        "details": dict(vm.details), "tags": tags_of(st, vm.id),
    }
    if vm.nics:
        default = next((n for n in vm.nics if n.isdefault), vm.nics[0])
        out["ipaddress"] = default.ipaddress
    if vm.keypairs:
        out["keypair"] = ",".join(vm.keypairs)
        out["keypairs"] = ",".join(vm.keypairs)
    if vm.state == "Running":
        out["hostid"] = zone.id
        out["hostname"] = f"SimulatedHost-{zone.name}"
    if public is not None:
        out["publicip"] = public.ipaddress
        out["publicipid"] = public.id
    if vm.password:
        out["password"] = vm.password
    if pending is not None:
        out["jobid"], out["jobstatus"] = pending.id, 0
    return out


def volume_view(st: State, v: m.Volume, pending: Any = None) -> dict[str, Any]:
    zone = st.get("zone", v.zone_id, True)
    out: dict[str, Any] = {
        "id": v.id, "name": v.name, "zoneid": zone.id, "zonename": zone.name, "type": v.type,
        "size": v.size, "virtualsize": v.size, "created": v.created, "state": v.state, **_common(st),
        "storagetype": "shared", "hypervisor": v.hypervisor, "storage": v.storage,
        "destroyed": v.state in ("Destroy", "Expunged"), "isextractable": v.type != "ROOT",
        "provisioningtype": "thin", "quiescevm": False, "displayvolume": True, "tags": tags_of(st, v.id),
    }
    if v.state != "Allocated":
        out["storageid"] = zone.id
        out["path"] = v.id
        out["physicalsize"] = 0
    if v.disk_offering_id:
        do = st.get("diskoffering", v.disk_offering_id, True)
        out.update(diskofferingid=do.id, diskofferingname=do.name, diskofferingdisplaytext=do.displaytext)
    if v.service_offering_id:
        so = st.get("serviceoffering", v.service_offering_id, True)
        out.update(serviceofferingid=so.id, serviceofferingname=so.name, serviceofferingdisplaytext=so.displaytext)
    if v.template_id:
        tpl = st.get("template", v.template_id, True)
        out.update(templateid=tpl.id, templatename=tpl.name, templatedisplaytext=tpl.displaytext)
    if v.vm_id:
        vm = st.get("vm", v.vm_id, True)
        out.update(virtualmachineid=vm.id, vmname=vm.name, vmdisplayname=vm.displayname, vmstate=vm.state,
                   deviceid=v.deviceid)
        if v.attached:
            out["attached"] = v.attached
    if pending is not None:
        out["jobid"], out["jobstatus"] = pending.id, 0
    return out


def template_view(st: State, t: m.Template) -> dict[str, Any]:
    zone = st.get("zone", t.zone_id, True)
    os_obj = st.get("ostype", t.ostype_id, True)
    out: dict[str, Any] = {
        "id": t.id, "name": t.name, "displaytext": t.displaytext, "ispublic": t.ispublic, "created": t.created,
        "isready": t.isready, "passwordenabled": t.passwordenabled, "format": t.format,
        "isfeatured": t.isfeatured, "crossZones": False, "ostypeid": os_obj.id, "ostypename": os_obj.description,
        **_common(st), "zoneid": zone.id, "zonename": zone.name, "status": t.status,
        "size": t.size, "physicalsize": t.physicalsize, "templatetype": "USER", "hypervisor": t.hypervisor,
        "isextractable": t.isextractable, "sshkeyenabled": t.sshkeyenabled, "requireshvm": t.requireshvm,
        "bits": t.bits, "isdynamicallyscalable": t.isdynamicallyscalable, "directdownload": False,
        "deployasis": False, "details": dict(t.details), "templatetag": "", "tags": tags_of(st, t.id),
        "downloaddetails": [{"datastore": f"nfs://secondary/{zone.name}", "downloadPercent": str(t.download_percent),
                             "downloadState": t.download_state}],
    }
    if not t.status:
        del out["status"]
    if not t.size:
        del out["size"]
    if t.checksum:
        out["checksum"] = t.checksum
    if t.url:
        out["url"] = t.url
    return out


def snapshot_view(st: State, s: m.Snapshot) -> dict[str, Any]:
    vol = st.get("volume", s.volume_id, True)
    zone = st.get("zone", vol.zone_id, True)
    return {"id": s.id, **_common(st), "snapshottype": "MANUAL", "volumeid": vol.id, "volumename": vol.name,
            "volumetype": vol.type, "created": s.created, "name": s.name, "intervaltype": "MANUAL",
            "state": s.state, "zoneid": zone.id, "zonename": zone.name, "physicalsize": s.size,
            "virtualsize": s.size, "locationtype": "PRIMARY", "revertable": True, "tags": tags_of(st, s.id)}


def public_ip_view(st: State, ip: m.PublicIp) -> dict[str, Any]:
    zone = st.get("zone", ip.zone_id, True)
    out: dict[str, Any] = {
        "id": ip.id, "ipaddress": ip.ipaddress, "allocated": ip.allocated, "zoneid": zone.id, "zonename": zone.name,
        "issourcenat": ip.issourcenat, **_common(st), "forvirtualnetwork": True, "isstaticnat": False,
        "issystem": False, "state": "Allocated", "vlanid": zone.id, "vlanname": "vlan://untagged",
        "physicalnetworkid": zone.id, "isportable": False, "fordisplay": True, "tags": tags_of(st, ip.id),
    }
    if ip.network_id:
        net = st.get("network", ip.network_id, True)
        out.update(associatednetworkid=net.id, associatednetworkname=net.name, networkid=net.id)
    if ip.static_nat_vm_id:
        vm = st.get("vm", ip.static_nat_vm_id, True)
        out.update(isstaticnat=True, virtualmachineid=vm.id, virtualmachinename=vm.name,
                   virtualmachinedisplayname=vm.displayname, vmipaddress=ip.vm_guest_ip, purpose="StaticNat")
    return out


def affinity_group_view(st: State, g: m.AffinityGroup) -> dict[str, Any]:
    members = [vm.id for vm in st.live("vm") if g.id in vm.affinity_group_ids]
    return {"id": g.id, "name": g.name, "type": g.type, "description": g.description, **_common(st),
            "virtualmachineIds": members}


def lb_rule_view(st: State, r: m.LoadBalancerRule) -> dict[str, Any]:
    ip = st.get("publicip", r.public_ip_id, True)
    return {"id": r.id, "name": r.name, "publicipid": ip.id, "publicip": ip.ipaddress,
            "publicport": r.publicport, "privateport": r.privateport, "algorithm": r.algorithm,
            "zoneid": ip.zone_id, "state": "Active", "cidrlist": "", **_common(st), "tags": tags_of(st, r.id)}
