"""``cloudstack-cpi check`` warns about the guest the stemcell's agent meets: the disk bus an OS
type gives on KVM, and a settings delivery the stemcell does not read (plugins' ``cpi_guest_warnings``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cpi_framework.testing import make_cpi_config
from cpi_framework.tools import check

CLOUD_CONFIG = """
azs:
- {name: z1, cloud_properties: {zone: ZONE}}
networks:
- name: default
  type: manual
  subnets:
  - {azs: [z1], range: 10.0.1.0/24, gateway: 10.0.1.1, cloud_properties: {name: NETWORK}}
"""


def guest_lines(capsys: pytest.CaptureFixture[str], simulator: Any, tmp_path: Path, hypervisor: str,
                network: str | None, **cloudstack: Any) -> list[str]:
    config = make_cpi_config(simulator, hypervisor, tmp_path, cloudstack=cloudstack)
    args = ["--config", str(config), "--json"]
    if network:
        cloud = tmp_path / "cloud-config.yml"
        cloud.write_text(CLOUD_CONFIG.replace("ZONE", f"zone-{hypervisor}").replace("NETWORK", network))
        args += ["--cloud-config", str(cloud)]
    check.main(args)
    report = json.loads(capsys.readouterr().out)
    lines = [c for c in report["checks"] if c["check"] == "guest"]
    assert all(c["status"] == "warn" and c["fix"] for c in lines), lines
    return [c["message"] for c in lines]


def test_kvm_other_linux_warns_about_the_ide_root(capsys, simulator, tmp_path):
    lines = guest_lines(capsys, simulator, tmp_path, "kvm", None, stemcell_os_type="Other Linux (64-bit)")
    assert len(lines) == 1 and "IDE bus" in lines[0] and "Other Linux (64-bit)" in lines[0]


def test_kvm_default_os_type_and_no_networks_has_nothing_to_say(capsys, simulator, tmp_path):
    assert guest_lines(capsys, simulator, tmp_path, "kvm", None) == []


def test_kvm_config_drive_network_warns_the_openstack_stemcell_reads_ec2_paths(capsys, simulator, tmp_path):
    lines = guest_lines(capsys, simulator, tmp_path, "kvm", "bosh-cd-net")
    assert any("ec2/latest/user-data" in line and "openstack/latest/user_data" in line for line in lines), lines


def test_kvm_virtual_router_network_says_where_the_openstack_stemcell_asks(capsys, simulator, tmp_path):
    lines = guest_lines(capsys, simulator, tmp_path, "kvm", "bosh-net")
    assert len(lines) == 1 and "169.254.169.254" in lines[0]


def test_xen_virtual_router_network_is_what_its_stemcell_reads(capsys, simulator, tmp_path):
    assert guest_lines(capsys, simulator, tmp_path, "xen", "bosh-net") == []


@pytest.mark.parametrize("os_type", ["Other PV Virtio-SCSI (64-bit)"])
def test_kvm_virtio_scsi_os_type_is_a_bus_the_hints_cannot_resolve(os_type: str) -> None:
    from cpi_framework_kvm import plugin

    assert plugin.root_disk_bus(os_type) == "scsi"
    (message, fix), = plugin.cpi_guest_warnings(os_type, [])
    assert "never resolve" in message and "Ubuntu" in fix


def test_xen_and_vmware_warn_on_config_drive_networks() -> None:
    from cpi_framework_vmware import plugin as vmware
    from cpi_framework_xen import plugin as xen

    for module in (xen, vmware):
        (message, fix), = module.cpi_guest_warnings("Other Ubuntu (64-bit)", ["ConfigDrive"])
        assert "ConfigDrive" in message and "VirtualRouter" in fix
        assert module.cpi_guest_warnings("Other Ubuntu (64-bit)", ["VirtualRouter"]) == []
