"""Unit tests of every hook the kvm plugin implements, called directly and through the host."""

from __future__ import annotations

import json

import pytest
from cpi_framework_kvm import plugin

from cpi_framework.config import CloudStackConfig, Config
from cpi_framework.plugin_system.host import PluginHost

VOLUME_ID = "8c6ea3b2-6c1c-4d8e-9f0a-1b2c3d4e5f60"
SERIAL = "8c6ea3b26c1c4d8e9f0a"


def make_config(**cloudstack: object) -> Config:
    base = {"endpoint": "http://127.0.0.1:1/client/api", "api_key": "k", "secret_access_key": "s",
            "default_zone": "zone-kvm"}
    return Config(cloudstack=CloudStackConfig(**{**base, **cloudstack}))


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return PluginHost("kvm")


def test_entry_point_selects_this_plugin(host: PluginHost) -> None:
    assert host.spec.name == "kvm" and host.chain[0].entry.distribution == "cpi-framework-kvm"
    assert host.cloudstack_type == "KVM"
    assert host.stemcell_formats == ("openstack-qcow2",)


def test_template_params_are_qcow2_with_a_virtio_os_type(host: PluginHost) -> None:
    config = make_config().with_plugin_defaults(host.defaults)
    params = host.template_params({"name": "bosh-openstack-kvm-ubuntu-jammy"}, config)
    assert (params.format, params.file_suffix, params.requires_hvm) == ("QCOW2", ".qcow2", True)
    assert params.image_member == "root.img"  # OpenStack stemcells: `image` is a tarball holding root.img
    assert "Ubuntu" in params.os_type  # CloudStack's KVM agent gives such OS types virtio disks
    explicit = host.template_params({}, make_config(stemcell_os_type="Other PV (64-bit)", stemcell_requires_hvm=False))
    assert (explicit.os_type, explicit.requires_hvm) == ("Other PV (64-bit)", False)


def test_serial_is_the_dashless_uuid_cut_to_twenty() -> None:
    assert plugin.virtio_serial(VOLUME_ID) == SERIAL
    assert len(SERIAL) == 20  # the agent's ID resolver refuses anything shorter


@pytest.mark.parametrize("deviceid", [1, 2, 4, "5", 26, 27])
def test_disk_hint_names_the_disk_by_its_serial_whatever_the_device_id(host: PluginHost, deviceid: object) -> None:
    hint = host.disk_hint({"id": VOLUME_ID, "deviceid": deviceid}, {"id": "vm"}, "persistent")
    assert hint == {"id": SERIAL, "path": f"/dev/disk/by-id/virtio-{SERIAL}"}


def test_disk_hint_system_and_ephemeral(host: PluginHost) -> None:
    assert host.disk_hint({"id": VOLUME_ID, "deviceid": 0}, {}, "system") == "/dev/vda"
    assert host.disk_hint({"id": VOLUME_ID, "deviceid": 1}, {}, "ephemeral") == {
        "id": SERIAL, "path": f"/dev/disk/by-id/virtio-{SERIAL}"}


def test_disk_hint_needs_a_device_id(host: PluginHost) -> None:
    from cpi_framework.errors import PluginError

    with pytest.raises(PluginError, match="plugin 'kvm'.*no deviceid"):
        host.disk_hint({"id": VOLUME_ID}, {}, "persistent")


def network(provider: str) -> dict:
    return {"id": "n1", "service": [{"name": "Dhcp", "provider": [{"name": "VirtualRouter"}]},
                                    {"name": "UserData", "provider": [{"name": provider}]}]}


@pytest.mark.parametrize(
    ("networks", "delivery"),
    [
        ([network("VirtualRouter")], "userdata"),
        ([network("ConfigDrive")], "configdrive"),
        ([network("VirtualRouter"), network("ConfigDrive")], "configdrive"),
        ([{"id": "n1", "service": [{"name": "Dns", "provider": [{"name": "ConfigDrive"}]}]}], "userdata"),
        ([], "userdata"),
    ],
)
def test_user_data_delivery_follows_the_network_provider(host: PluginHost, networks: list, delivery: str) -> None:
    settings = {"agent_id": "agent-1", "vm": {"name": "vm-1"}, "disks": {"system": "/dev/vda"}}
    user_data = host.user_data(settings, {"id": "vm-1", "networks": networks})
    assert user_data.delivery == delivery
    assert json.loads(user_data.data) == settings  # settings at the top level, nothing else


def test_hooks_implemented(host: PluginHost) -> None:
    assert host.implemented_hooks(host.chain[0]) == [
        "cpi_disk_hint", "cpi_guest_warnings", "cpi_hypervisor", "cpi_template_params", "cpi_user_data",
    ]
