"""What a VM's guest OS would see: its user-data source and its disks.

This is the simulator's stand-in for booting the stemcell: tests assert that the agent
settings the CPI wrote are readable where the stemcell looks, and that the disk hints the
CPI returned name the devices the guest actually has.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from . import disk_bus
from . import models as m
from .state import State


def disk_letters(index: int) -> str:
    """Linux ``sd_format_disk_name``: a..z, aa..az, ba.. (shared by vd*/sd*)."""
    name = ""
    index += 1
    while index > 0:
        index, rem = divmod(index - 1, 26)
        name = chr(ord("a") + rem) + name
    return name


def _enumeration(st: State, vm: m.VirtualMachine, vols: list[m.Volume]) -> dict[str, int]:
    """Guest kernel names, per name family (``vd``/``sd``): a running VM keeps its boot-time
    names plus hot-plugged disks at the lowest free index; a stopped VM shows the names of its
    last boot, new disks after them (see disk_bus.py)."""
    names = {v.id: vm.guest_disk_names[v.id] for v in vols if v.id in vm.guest_disk_names}
    for vol in sorted(vols, key=lambda v: v.deviceid or 0):
        if vol.id not in names:
            taken = {names[v.id] for v in vols if v.id in names and disk_bus.family(v) == disk_bus.family(vol)}
            names[vol.id] = next(i for i in range(len(taken) + 1) if i not in taken)
    return names


def _metadata(st: State, vm: m.VirtualMachine) -> dict[str, str]:
    """``NetworkModelImpl.generateVmData`` keys."""
    zone = st.get("zone", vm.zone_id, True)
    so = st.get("serviceoffering", vm.service_offering_id, True)
    default = next((n for n in vm.nics if n.isdefault), vm.nics[0] if vm.nics else None)
    public = next((ip for ip in st.live("publicip") if ip.static_nat_vm_id == vm.id), None)
    keys = [k.public_key for k in st.live("keypair") if k.name in vm.keypairs]
    local_ip = default.ipaddress if default else ""
    data = {"service-offering": so.name, "availability-zone": zone.name, "local-hostname": vm.name,
            "local-ipv4": local_ip, "public-ipv4": public.ipaddress if public else local_ip,
            "instance-id": vm.id, "vm-id": vm.id, "cloud-identifier": f"CloudStack-{{{st.account_id}}}",
            "hypervisor-host-name": f"SimulatedHost-{zone.name}"}
    if public:
        data["public-hostname"] = public.ipaddress
    if keys:
        data["public-keys"] = "\n".join(keys)
    return data


def _provider(st: State, net_id: str) -> str | None:
    net = st.get("network", net_id, True)
    return st.get("networkoffering", net.offering_id, True).userdata_provider


def _config_drive(st: State, vm: m.VirtualMachine, user_data: bytes | None, meta: dict[str, str]) -> dict[str, Any]:
    """The ISO's files (``ConfigDriveBuilder``): label ``config-2``; values are bytes."""
    zone = st.get("zone", vm.zone_id, True)
    files: dict[str, Any] = {}
    if user_data is not None:
        files["openstack/latest/user_data"] = user_data
        files["cloudstack/userdata/user_data.txt"] = user_data
    os_meta: dict[str, Any] = {"availability_zone": zone.name, "hostname": vm.name, "uuid": vm.id, "name": vm.name,
                               "launch_index": 0}
    if "public-keys" in meta:
        keys = meta["public-keys"].split("\n")
        os_meta["public_keys"] = {f"key-{i}": k for i, k in enumerate(keys)}
        os_meta["keys"] = [{"data": k, "type": "ssh", "name": f"key-{i}"} for i, k in enumerate(keys)]
    files["openstack/latest/meta_data.json"] = json.dumps(os_meta).encode()
    files["openstack/latest/vendor_data.json"] = b"{}"
    links, networks = [], []
    for nic in sorted(vm.nics, key=lambda n: n.deviceid):
        net = st.get("network", nic.network_id, True)
        links.append({"id": f"eth{nic.deviceid}", "ethernet_mac_address": nic.macaddress, "mtu": 1500,
                      "type": "phy"})
        entry: dict[str, Any] = {"id": f"eth{nic.deviceid}", "link": f"eth{nic.deviceid}", "type": "ipv4",
                                 "ip_address": nic.ipaddress, "netmask": net.netmask, "network_id": net.id}
        if nic.isdefault:
            entry["routes"] = [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": net.gateway}]
        networks.append(entry)
    files["openstack/latest/network_data.json"] = json.dumps(
        {"links": links, "networks": networks, "services": [{"type": "dns", "address": zone.dns1}]}).encode()
    for key, value in meta.items():
        files[f"cloudstack/metadata/{key}.txt"] = value.encode()
    return files


def guest_view(st: State, vm_id: str) -> dict[str, Any]:
    """See :meth:`cloudstack_simulator.Simulator.guest_view`.  Raises ``KeyError`` if unknown."""
    vm = st.get("vm", vm_id, include_removed=True)
    if vm is None:
        raise KeyError(vm_id)
    zone = st.get("zone", vm.zone_id, True)
    user_data = base64.b64decode(vm.userdata) if vm.userdata else None
    meta = _metadata(st, vm)
    default = next((n for n in vm.nics if n.isdefault), vm.nics[0] if vm.nics else None)
    provider = _provider(st, default.network_id) if default else "VirtualRouter"
    source = {"ConfigDrive": "configdrive", "VirtualRouter": "virtual-router"}.get(provider or "")
    if source is None:  # no UserData service on the default network: nothing serves data or metadata
        user_data, meta = None, {}
    has_cd = any(_provider(st, n.network_id) == "ConfigDrive" for n in vm.nics)
    vols = [v for v in st.live("volume") if v.vm_id == vm.id]
    order = _enumeration(st, vm, vols)
    disks = []
    for vol in sorted(vols, key=lambda v: v.deviceid or 0):
        disk: dict[str, Any] = {"volume_id": vol.id, "name": vol.name, "type": vol.type, "deviceid": vol.deviceid,
                                "size": vol.size}
        if zone.hypervisor == "XenServer":
            disk["path"] = "/dev/xvd" + chr(ord("a") + (vol.deviceid or 0))
        elif zone.hypervisor == "KVM":
            disk["path"] = "/dev/" + disk_bus.family(vol) + disk_letters(order.get(vol.id, 0))
            disk["bus"] = vol.bus
            disk["serial"] = vol.id.replace("-", "")[:20]
            disk["by_id"] = disk_bus.kvm_by_id(vol)
        elif zone.hypervisor == "VMware":
            disk["path"] = "/dev/sd" + disk_letters(order.get(vol.id, 0))
            disk["bus"] = vol.bus
            if vol.bus == "ide":  # libata: the IDE root is ata host 0, target 0
                disk["scsi"] = {"host": 0, "channel": 0, "target": 0, "lun": 0}
            else:
                disk["scsi"] = {"controller": 0, "unit": vol.scsi_unit if vol.scsi_unit is not None else 0}
        else:
            disk["path"] = "/dev/sd" + disk_letters(order.get(vol.id, 0))
        disks.append(disk)
    return {
        "vm_id": vm.id, "name": vm.name, "state": vm.state, "hypervisor": zone.hypervisor,
        "user_data": user_data, "user_data_source": source, "metadata": meta,
        "config_drive": _config_drive(st, vm, user_data, meta) if has_cd else None,
        "config_drive_label": "config-2" if has_cd else None, "disks": disks,
    }
