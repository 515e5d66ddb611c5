"""Unit tests of every hook the vmware plugin implements, called directly and through the host."""

from __future__ import annotations

import json

import pytest
from cpi_framework_vmware import plugin
from marshmallow import Schema, ValidationError

from cpi_framework.config import CloudStackConfig, Config
from cpi_framework.plugin_system.host import PluginHost


def make_config(**cloudstack: object) -> Config:
    base = {"endpoint": "http://127.0.0.1:1/client/api", "api_key": "k", "secret_access_key": "s",
            "default_zone": "zone-vmware"}
    return Config(cloudstack=CloudStackConfig(**{**base, **cloudstack}))


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return PluginHost("vmware")


def test_entry_point_selects_this_plugin(host: PluginHost) -> None:
    assert host.spec.name == "vmware" and host.chain[0].entry.distribution == "cpi-framework-vmware"
    assert host.cloudstack_type == "VMware"
    assert host.stemcell_formats == ("cloudstack-ova",)


def test_template_params_are_ova(host: PluginHost) -> None:
    params = host.template_params({}, make_config().with_plugin_defaults(host.defaults))
    assert (params.format, params.file_suffix, params.os_type, params.requires_hvm) == (
        "OVA", ".ova", "Other Ubuntu (64-bit)", True)


@pytest.mark.parametrize(("deviceid", "unit"), [(1, 1), (2, 2), (4, 3), (5, 4), (7, 6), (8, 8), (9, 9)])
def test_disk_hint_is_the_scsi_unit(host: PluginHost, deviceid: int, unit: int) -> None:
    assert host.disk_hint({"id": "v", "deviceid": deviceid}, {}, "persistent") == {"volume_id": str(unit)}


@pytest.mark.parametrize(("deviceid", "unit"), [(1, 0), (2, 1), (4, 2), (5, 3), (8, 6), (9, 8), (10, 9)])
def test_with_an_ide_root_data_disks_count_from_unit_0(host: PluginHost, deviceid: int, unit: int) -> None:
    vm = {"id": "vm", "details": {"rootDiskController": "ide", "dataDiskController": "scsi"}}
    assert host.disk_hint({"id": "v", "deviceid": deviceid}, vm, "persistent") == {"volume_id": str(unit)}


@pytest.mark.parametrize("ide", [False, True])
def test_units_never_collide_and_skip_the_controller(ide: bool) -> None:
    units = [plugin.scsi_unit(d, ide) for d in [1, 2, *range(4, 60)]]
    assert len(set(units)) == len(units) and 7 not in units and (0 in units) == ide


def test_disk_hint_system_and_ephemeral(host: PluginHost) -> None:
    assert host.disk_hint({"id": "root", "deviceid": 0}, {}, "system") == "/dev/sda"
    assert host.disk_hint({"id": "eph", "deviceid": 1}, {}, "ephemeral") == {"volume_id": "1"}
    for not_data in (-1, 0):
        with pytest.raises(ValueError):
            plugin.scsi_unit(not_data)


def load_vm_type(host: PluginHost, data: dict) -> dict:
    return Schema.from_dict(host.vm_type_fields())().load(data)


def test_vm_type_schema_defaults_and_validates(host: PluginHost) -> None:
    assert load_vm_type(host, {}) == {"root_disk_controller": "scsi", "data_disk_controller": None}
    assert load_vm_type(host, {"root_disk_controller": "pvscsi"})["root_disk_controller"] == "pvscsi"
    with pytest.raises(ValidationError, match="root_disk_controller"):
        load_vm_type(host, {"root_disk_controller": "nvme"})
    with pytest.raises(ValidationError, match="data_disk_controller"):
        load_vm_type(host, {"data_disk_controller": "ide"})  # SCSI hints need SCSI data disks


@pytest.mark.parametrize(
    ("vm_type", "details"),
    [
        ({}, {"rootDiskController": "scsi", "dataDiskController": "scsi"}),
        ({"root_disk_controller": "pvscsi"}, {"rootDiskController": "pvscsi", "dataDiskController": "pvscsi"}),
        ({"root_disk_controller": "ide"}, {"rootDiskController": "ide", "dataDiskController": "scsi"}),
        ({"root_disk_controller": "osdefault", "data_disk_controller": "lsilogic"},
         {"rootDiskController": "osdefault", "dataDiskController": "lsilogic"}),
    ],
)
def test_deploy_params_set_controller_details(host: PluginHost, vm_type: dict, details: dict) -> None:
    params = {"serviceofferingid": "so", "details": {"cpuNumber": "2"}}
    assert host.deploy_params(params, vm_type) is params
    assert params["details"] == {"cpuNumber": "2", **details}
    fresh: dict = {}
    host.deploy_params(fresh, load_vm_type(host, vm_type))
    assert fresh["details"] == details


def test_user_data_is_settings_json(host: PluginHost) -> None:
    settings = {"agent_id": "a", "vm": {"name": "vm-1"}, "disks": {"system": "/dev/sda"}}
    user_data = host.user_data(settings, {"id": "vm-1", "networks": []})
    assert user_data.delivery == "userdata" and json.loads(user_data.data) == settings


def test_hooks_implemented(host: PluginHost) -> None:
    assert host.implemented_hooks(host.chain[0]) == [
        "cpi_deploy_params", "cpi_disk_hint", "cpi_guest_warnings", "cpi_hypervisor", "cpi_template_params",
        "cpi_user_data", "cpi_vm_type_schema",
    ]


def test_a_stemcell_declaring_another_resolver_than_scsi_is_refused(host: PluginHost) -> None:
    from cpi_framework.errors import CpiError

    config = make_config().with_plugin_defaults(host.defaults)
    assert host.template_params({"device_path_resolution_type": "scsi"}, config).format == "OVA"
    with pytest.raises(CpiError, match="device_path_resolution_type 'virtio'.*only the agent's 'scsi' resolver"):
        host.template_params({"name": "s", "version": "1", "device_path_resolution_type": "virtio"}, config)
