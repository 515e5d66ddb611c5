"""The simulator's internal records.  API payloads are rendered from these by ``views``.

Records are never deleted from the store: like the server's ``removed`` column they are
flagged, so a lookup of a removed entity's id behaves like ``findByUuidIncludingRemoved``
(empty list) rather than like an unknown id (431).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Zone:
    id: str
    name: str
    hypervisor: str
    max_data_volumes: int
    dns1: str = "8.8.8.8"
    internaldns1: str = "10.0.0.2"
    storage_pool_type: str = "NetworkFilesystem"  # primary storage pool type (KVM data disk bus, disk_bus.py)
    removed: bool = False


@dataclass
class NetworkOffering:
    id: str
    name: str
    userdata_provider: str | None  # None: the offering has no UserData service
    removed: bool = False


@dataclass
class Network:
    id: str
    name: str
    zone_id: str
    cidr: str
    gateway: str
    netmask: str
    offering_id: str
    vlan: int
    router_ip: str
    removed: bool = False


@dataclass
class ServiceOffering:
    id: str
    name: str
    displaytext: str
    cpunumber: int | None
    cpuspeed: int | None
    memory: int | None
    customized: bool
    created: str
    removed: bool = False


@dataclass
class DiskOffering:
    id: str
    name: str
    displaytext: str
    disksize: int
    customized: bool
    created: str
    removed: bool = False
    tags: str = ""  # storage tags, comma-separated (DiskOfferingVO.getTags)
    strict: bool = False  # disksizestrictness (4.17+): the volume keeps the offering's size


@dataclass
class OsType:
    id: str
    description: str
    oscategoryid: str
    removed: bool = False


@dataclass
class KeyPair:
    id: str
    name: str
    fingerprint: str
    public_key: str
    removed: bool = False


@dataclass
class Template:
    id: str
    name: str
    displaytext: str
    zone_id: str
    hypervisor: str
    format: str
    ostype_id: str
    created: str
    size: int = 0
    physicalsize: int = 0
    isready: bool = False
    status: str = ""
    state: str = "Active"
    download_state: str = "NOT_DOWNLOADED"
    download_percent: int = 0
    requireshvm: bool = True
    bits: int = 64
    ispublic: bool = False
    isfeatured: bool = False
    isextractable: bool = False
    passwordenabled: bool = False
    sshkeyenabled: bool = False
    isdynamicallyscalable: bool = False
    checksum: str | None = None
    details: dict[str, str] = field(default_factory=dict)
    url: str | None = None
    upload: dict[str, Any] = field(default_factory=dict)
    owned: bool = False  # registered/uploaded through the API: counts against the account's limits
    removed: bool = False


@dataclass
class Nic:
    id: str
    network_id: str
    ipaddress: str
    macaddress: str
    deviceid: int
    isdefault: bool


@dataclass
class VirtualMachine:
    id: str
    num: int
    name: str
    displayname: str
    zone_id: str
    template_id: str
    service_offering_id: str
    cpunumber: int
    cpuspeed: int
    memory: int
    state: str
    created: str
    nics: list[Nic] = field(default_factory=list)
    keypairs: list[str] = field(default_factory=list)
    affinity_group_ids: list[str] = field(default_factory=list)
    userdata: str | None = None
    details: dict[str, str] = field(default_factory=dict)
    password: str | None = None
    boots: int = 0
    guest_disk_names: dict[str, int] = field(default_factory=dict)
    removed: bool = False


@dataclass
class Volume:
    id: str
    num: int
    name: str
    zone_id: str
    type: str
    size: int
    state: str
    created: str
    disk_offering_id: str | None = None
    service_offering_id: str | None = None
    template_id: str | None = None
    vm_id: str | None = None
    deviceid: int | None = None
    attached: str | None = None
    hypervisor: str = "None"
    storage: str = "none"
    attach_order: int = 0
    scsi_unit: int | None = None
    bus: str | None = None  # virtio/scsi/ide/sata on KVM, scsi/ide on VMware (disk_bus.py)
    removed: bool = False


@dataclass
class Snapshot:
    id: str
    name: str
    volume_id: str
    state: str
    created: str
    size: int
    removed: bool = False


@dataclass
class PublicIp:
    id: str
    ipaddress: str
    zone_id: str
    network_id: str | None
    allocated: str
    issourcenat: bool = False
    static_nat_vm_id: str | None = None
    vm_guest_ip: str | None = None
    removed: bool = False


@dataclass
class AffinityGroup:
    id: str
    name: str
    type: str
    description: str
    removed: bool = False


@dataclass
class Tag:
    key: str
    value: str
    resource_id: str
    resource_type: str


@dataclass
class LoadBalancerRule:
    id: str
    name: str
    public_ip_id: str
    publicport: str
    privateport: str
    algorithm: str
    vm_ids: list[str] = field(default_factory=list)
    removed: bool = False
