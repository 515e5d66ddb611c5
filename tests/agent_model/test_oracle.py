"""The Python agent model against the real bosh-agent's code (the agent oracle, tests/agent_oracle).

Every hand-written case of ``test_resolvers.py`` and more go to both; they must agree on the
volume reached or both fail. The settings cases show the agent's own settings sources and
interface configuration judging user-data shapes. Skipped without Go, failed under ``CI=true``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from cpi_framework.testing.agent_oracle import (
    CLOUDSTACK_CONFIG_DRIVE_SOURCES,
    STEMCELL_AGENT_CONFIGS,
    AgentOracle,
    require_in_ci,
)
from cpi_framework.testing.agent_resolvers import ResolveError, resolve_volume
from cpi_framework.testing.oracle_checks import judge_disk, judge_settings

from .test_resolvers import SERIAL_A, VOL_A, VOL_B, kvm_after_detach_reboot_attach, kvm_guest, vmware_guest, xen_guest

SERIAL_B = VOL_B.replace("-", "")[:20]
IDE_ROOT = {"disks": [
    {"volume_id": "root", "path": "/dev/sda", "scsi": {"host": 0, "channel": 0, "target": 0, "lun": 0}},
    {"volume_id": "eph", "path": "/dev/sdb", "scsi": {"controller": 0, "unit": 0}},
    {"volume_id": VOL_A, "path": "/dev/sdc", "scsi": {"controller": 0, "unit": 1}},
]}
IDE_ROOT_NO_UNIT_0 = {"disks": [d for d in IDE_ROOT["disks"] if d["volume_id"] != "eph"]}
HTTP = STEMCELL_AGENT_CONFIGS["cloudstack"]["sources"]
MAC_A, MAC_B = "02:00:4c:5a:00:01", "02:00:4c:5a:00:02"


@pytest.fixture(scope="module")
def oracle() -> AgentOracle:
    return require_in_ci()


def model(resolution: str, cid: str, hint: Any, guest: dict[str, Any]) -> str | None:
    try:
        return resolve_volume(resolution, cid, hint, guest)
    except ResolveError:
        return None


CASES = [
    # (resolution, cid, hint, guest)
    ("virtio", VOL_A, {"path": "/dev/xvdc", "volume_id": "2"}, xen_guest()),
    ("identity", VOL_A, {"path": "/dev/xvdc"}, xen_guest()),
    ("identity", VOL_A, "/dev/xvdq", xen_guest()),
    ("identity", VOL_A, {"volume_id": "2"}, xen_guest()),
    ("virtio", "short", "/dev/sdc", xen_guest()),
    ("identity", VOL_A, "/dev/sdc", xen_guest()),
    ("virtio", VOL_A, {"id": SERIAL_A, "path": "/dev/vdb"}, kvm_guest()),
    ("virtio", VOL_A, {"id": SERIAL_A, "path": "/dev/vdz"}, kvm_guest()),
    ("virtio", VOL_A, {"id": SERIAL_A, "path": "/dev/vdc"}, kvm_guest()),
    ("virtio", VOL_A.replace("-", ""), {}, kvm_guest()),
    ("virtio", VOL_A, {"path": f"/dev/disk/by-id/virtio-{SERIAL_A}"}, kvm_guest()),
    ("virtio", VOL_A, {"path": "/dev/disk/by-id/virtio-nosuchserial000000"}, kvm_guest()),
    ("virtio", "", {"path": "/dev/vdb"}, kvm_guest()),
    ("scsi", VOL_A, {"volume_id": "2"}, vmware_guest()),
    ("scsi", VOL_A, {"volume_id": "5"}, vmware_guest()),
    ("scsi", VOL_A, {"path": "/dev/sdc"}, vmware_guest()),
    ("scsi", "", {"volume_id": "2"}, vmware_guest()),
    ("scsi", VOL_B, {"volume_id": "1", "path": "/dev/sdb"}, vmware_guest()),
    ("virtio", VOL_A, {"volume_id": "2"}, vmware_guest()),
    ("virtio", VOL_A, {"path": "/dev/sdc", "volume_id": "2"}, vmware_guest()),
    ("identity", VOL_A, {"path": f"/dev/disk/by-id/virtio-{SERIAL_A}"}, kvm_guest()),
    ("virtio", VOL_B, {"id": SERIAL_B, "path": "/dev/vdd"}, kvm_after_detach_reboot_attach()),
    ("virtio", VOL_B, {"id": SERIAL_B, "path": f"/dev/disk/by-id/virtio-{SERIAL_B}"}, kvm_after_detach_reboot_attach()),
    ("scsi", VOL_A, {"volume_id": "1"}, IDE_ROOT),
    ("scsi", "", {"volume_id": "0"}, IDE_ROOT),
    ("scsi", VOL_A, {"volume_id": "1"}, IDE_ROOT_NO_UNIT_0),
]


@pytest.mark.parametrize(("resolution", "cid", "hint", "guest"), CASES,
                         ids=[f"{c[0]}-{json.dumps(c[2])}" for c in CASES])
def test_model_and_agent_reach_the_same_volume(oracle: AgentOracle, resolution: str, cid: str, hint: Any,
                                               guest: dict[str, Any]) -> None:
    answer = oracle.resolve(resolution, cid, hint, guest, ephemeral=not cid)
    agent = answer.get("volume_id") if answer["ok"] else None
    assert agent == model(resolution, cid, hint, guest), answer


def test_a_non_string_hint_value_panics_the_agent(oracle: AgentOracle) -> None:
    answer = oracle.resolve("virtio", VOL_A, {"path": 2}, kvm_guest())
    assert not answer["ok"] and "panicked" in answer["error"], answer


def test_a_disagreement_names_what_the_agent_saw(oracle: AgentOracle) -> None:
    """judge_disk fails when the agent lands elsewhere than the model claims, showing the agent's side."""
    with pytest.raises(AssertionError) as failure:
        judge_disk(kvm_guest(), "vm-1", VOL_A, {"path": "/dev/vdb"}, ("virtio",), model_volume="root", model_error=None)
    message = str(failure.value)
    assert "bosh-agent (github.com/cloudfoundry/bosh-agent/v2@v" in message
    assert f"resolved to /dev/vdb (volume {VOL_A})" in message and "'path': '/dev/vdb'" in message
    judge_disk(kvm_guest(), "vm-1", VOL_A, {"path": "/dev/vdb"}, ("virtio",), model_volume=VOL_A, model_error=None)


def settings_doc(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "agent_id": "agent-1", "mbus": "nats://u:p@10.0.0.6:4222", "ntp": ["0.pool.ntp.org"],
        "blobstore": {"provider": "dav", "options": {"endpoint": "http://10.0.0.6:25250"}},
        "disks": {"system": "/dev/vda", "ephemeral": {"path": "/dev/vdb"}, "persistent": {}},
        "networks": {
            "a": {"type": "manual", "ip": "10.0.1.5", "netmask": "255.255.255.0", "gateway": "10.0.1.1",
                  "default": ["dns", "gateway"], "dns": ["8.8.8.8"], "mac": MAC_A},
            "b": {"type": "dynamic", "mac": MAC_B, "use_dhcp": True},
            "public": {"type": "vip", "ip": "203.0.113.9"},
        },
        "env": {}, "vm": {"name": "vm-1"},
    }
    doc.update(overrides)
    return doc


class StubSim:
    """A simulator stand-in: one VM with two NICs, the user-data served as ``source``."""

    def __init__(self, user_data: bytes | None, source: str = "virtual-router", nic_ips: tuple[str, str] = (
            "10.0.1.5", "10.0.2.7"), config_drive: dict[str, bytes] | None = None) -> None:
        self.view = {"user_data": user_data, "user_data_source": source, "metadata": {"instance-id": "vm-1"},
                     "config_drive": config_drive, "config_drive_label": "config-2" if config_drive else None,
                     "disks": kvm_guest()["disks"]}
        self.nics = [{"macaddress": MAC_A, "deviceid": "0", "ipaddress": nic_ips[0]},
                     {"macaddress": MAC_B, "deviceid": "1", "ipaddress": nic_ips[1]}]

    def inventory(self) -> dict[str, Any]:
        return {"virtualmachines": [{"id": "vm-1", "nic": self.nics}]}


def test_the_http_source_reads_the_settings_and_configures_nics_by_mac(oracle: AgentOracle) -> None:
    doc = settings_doc()
    sim = StubSim(json.dumps(doc).encode())
    judge_settings(sim, "vm-1", sim.view, doc)
    answer = oracle.settings(sim.view, HTTP, [{"mac": MAC_A, "name": "eth0"}, {"mac": MAC_B, "name": "eth1"}])
    assert answer["ok"], answer
    interfaces = {i["name"]: i for i in answer["interfaces"]}
    assert interfaces["eth0"]["address"] == "10.0.1.5" and not interfaces["eth0"]["dhcp"]
    assert interfaces["eth1"]["dhcp"] and len(interfaces) == 2  # the vip network configures nothing


def test_base64url_user_data_is_read_too(oracle: AgentOracle) -> None:
    doc = settings_doc()
    encoded = base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=")
    sim = StubSim(encoded)
    judge_settings(sim, "vm-1", sim.view, doc)


@pytest.mark.parametrize(("user_data", "agent_says"), [
    (json.dumps({"settings": settings_doc()}).encode(), "Metadata does not provide settings"),
    (json.dumps(settings_doc(networks=[{"type": "dynamic"}])).encode(), "cannot unmarshal array into Go struct"),
    (json.dumps(settings_doc(agent_id=7)).encode(), "cannot unmarshal number into Go struct field"),
    (None, "404"),
], ids=["nested", "networks-as-list", "agent-id-number", "no-user-data"])
def test_a_broken_user_data_shape_fails_naming_what_the_agent_said(user_data: bytes | None, agent_says: str,
                                                                    oracle: AgentOracle) -> None:
    sim = StubSim(user_data)
    with pytest.raises(AssertionError, match="reads no settings") as failure:
        judge_settings(sim, "vm-1", sim.view, settings_doc())
    assert agent_says in str(failure.value)


def test_a_network_on_the_wrong_nic_fails(oracle: AgentOracle) -> None:
    doc = settings_doc()
    sim = StubSim(json.dumps(doc).encode(), nic_ips=("10.0.2.7", "10.0.1.5"))  # CloudStack gave eth0 the other IP
    with pytest.raises(AssertionError, match="puts 10.0.1.5 on eth0"):
        judge_settings(sim, "vm-1", sim.view, doc)
    sim.nics = sim.nics[:1]  # the MAC of network b is no NIC of this VM
    with pytest.raises(AssertionError, match="No device found for network 'b'"):
        judge_settings(sim, "vm-1", sim.view, doc)


def test_the_agent_reads_fields_the_model_decoded_differently(oracle: AgentOracle) -> None:
    written = settings_doc()
    sim = StubSim(json.dumps(settings_doc(mbus="nats://other:4222")).encode())
    with pytest.raises(AssertionError, match="mbus: agent 'nats://other:4222'"):
        judge_settings(sim, "vm-1", sim.view, written)


def test_config_drive_layout(oracle: AgentOracle) -> None:
    """CloudStack's ConfigDrive writes openstack/latest/user_data: a source pointed there reads it; the
    upstream OpenStack stemcell's agent.json (ec2/latest/user-data) does not, and with no metadata
    server on a ConfigDrive network its HTTP fallback finds nothing either."""
    doc = settings_doc()
    drive = {"openstack/latest/user_data": json.dumps(doc).encode(), "openstack/latest/meta_data.json": b"{}"}
    sim = StubSim(None, source="configdrive", config_drive=drive)
    judge_settings(sim, "vm-1", sim.view, doc)
    assert oracle.settings(sim.view, CLOUDSTACK_CONFIG_DRIVE_SOURCES, [])["ok"]
    upstream = oracle.settings(sim.view, STEMCELL_AGENT_CONFIGS["openstack"]["sources"], [])
    assert not upstream["ok"] and "ec2/latest/user-data" in upstream["log"], upstream


def test_upstream_stemcells_as_docs_stemcells_md_says(oracle: AgentOracle) -> None:
    """The upstream CloudStack stage's ``virtio`` cannot resolve a VMware ``volume_id`` hint, and a vSphere
    stemcell's CDROM source finds no settings on CloudStack (docs/stemcells.md, per plugin)."""
    answer = oracle.resolve(STEMCELL_AGENT_CONFIGS["cloudstack"]["resolution"], VOL_A, {"volume_id": "2"},
                            vmware_guest())
    assert not answer["ok"] and "path is missing" in answer["error"], answer
    assert oracle.resolve(STEMCELL_AGENT_CONFIGS["vsphere"]["resolution"], VOL_A, {"volume_id": "2"},
                          vmware_guest())["volume_id"] == VOL_A
    sim = StubSim(json.dumps(settings_doc()).encode())
    vsphere = oracle.settings(sim.view, STEMCELL_AGENT_CONFIGS["vsphere"]["sources"], [])
    assert not vsphere["ok"] and "env" in vsphere["error"], vsphere


def test_disk_id_transform_is_go_regexp_syntax(oracle: AgentOracle) -> None:
    """agent.json's DiskIDTransformReplacement goes to Go's Regexp.ReplaceAllString: ``$1``, not ``\\1``
    (the model's AgentOptions takes Python's re syntax), and the transformed ID is the whole glob."""
    pattern = r"^(\w{8})-(\w{4})-(\w{4})-(\w{4}).*$"
    go = oracle.resolve("virtio", VOL_A, {}, kvm_guest(), id_transform=(pattern, "virtio-${1}${2}${3}${4}"))
    assert go["ok"] and go["volume_id"] == VOL_A, go
    python_syntax = oracle.resolve("virtio", VOL_A, {}, kvm_guest(), id_transform=(pattern, r"virtio-\1\2\3\4"))
    assert not python_syntax["ok"] and "path is missing" in python_syntax["error"], python_syntax
