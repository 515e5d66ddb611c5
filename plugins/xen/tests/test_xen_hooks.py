"""Unit tests of every hook the xen plugin implements, called directly and through the host."""

from __future__ import annotations

import json

import pytest
from cpi_framework_xen import plugin

from cpi_framework.config import CloudStackConfig, Config
from cpi_framework.plugin_system.host import PluginHost
from cpi_framework.types import TemplateParams


def make_config(**cloudstack: object) -> Config:
    base = {"endpoint": "http://127.0.0.1:1/client/api", "api_key": "k", "secret_access_key": "s",
            "default_zone": "zone-xen"}
    return Config(cloudstack=CloudStackConfig(**{**base, **cloudstack}))


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return PluginHost("xen")


def test_entry_point_selects_this_plugin(host: PluginHost) -> None:
    assert host.spec.name == "xen"
    assert host.chain[0].entry.distribution == "cpi-framework-xen"
    assert host.cloudstack_type == "XenServer"
    assert host.stemcell_formats == ("cloudstack-vhdx",)


def test_defaults_fill_unset_config_only(host: PluginHost) -> None:
    assert host.defaults == {"cloudstack.stemcell_os_type": "Other PV (64-bit)",
                             "cloudstack.stemcell_requires_hvm": False}
    filled = make_config().with_plugin_defaults(host.defaults)
    assert (filled.cloudstack.stemcell_os_type, filled.cloudstack.stemcell_requires_hvm) == ("Other PV (64-bit)", False)
    kept = make_config(stemcell_requires_hvm=True).with_plugin_defaults(host.defaults)
    assert kept.cloudstack.stemcell_requires_hvm is True


def test_template_params_follow_config(host: PluginHost) -> None:
    config = make_config().with_plugin_defaults(host.defaults)
    assert host.template_params({"name": "bosh-cloudstack-xen"}, config) == TemplateParams(
        format="VHD", file_suffix=".vhd.bz2", os_type="Other PV (64-bit)", requires_hvm=False
    )
    hvm = make_config(stemcell_os_type="Ubuntu 22.04 LTS", stemcell_requires_hvm=True)
    params = host.template_params({}, hvm)
    assert (params.os_type, params.requires_hvm, params.bits) == ("Ubuntu 22.04 LTS", True, 64)


@pytest.mark.parametrize(
    ("deviceid", "path"), [(1, "/dev/xvdb"), (2, "/dev/xvdc"), ("4", "/dev/xvde"), (9, "/dev/xvdj"), (25, "/dev/xvdz")]
)
def test_disk_hint_path_from_device_id(host: PluginHost, deviceid: object, path: str) -> None:
    hint = host.disk_hint({"id": "vol-1", "deviceid": deviceid}, {"id": "vm-1"}, "persistent")
    assert hint == {"path": path, "volume_id": str(int(deviceid))}


def test_disk_hint_system_and_ephemeral(host: PluginHost) -> None:
    assert host.disk_hint({"id": "root", "deviceid": 0}, {}, "system") == "/dev/xvda"
    assert host.disk_hint({"id": "eph", "deviceid": 1}, {}, "ephemeral") == {"path": "/dev/xvdb", "volume_id": "1"}


def test_disk_hint_without_device_id_names_the_plugin(host: PluginHost) -> None:
    from cpi_framework.errors import PluginError

    with pytest.raises(PluginError, match="plugin 'xen'.*cpi_disk_hint.*vol-9"):
        host.disk_hint({"id": "vol-9"}, {}, "persistent")
    with pytest.raises(ValueError, match="no /dev/xvd"):
        plugin.device_path(26)


def test_user_data_is_the_settings_as_compact_json(host: PluginHost) -> None:
    settings = {
        "agent_id": "agent-1",
        "vm": {"name": "vm-abc"},
        "networks": {"default": {"type": "manual", "dns": ["10.0.1.2"], "default": ["dns", "gateway"]}},
        "disks": {"system": "/dev/xvda"},
    }
    user_data = host.user_data(settings, {"id": "vm-1", "networks": []})
    assert user_data.delivery == "userdata"
    assert json.loads(user_data.data) == settings  # the HTTP source reads the settings at the top level
    assert b" " not in user_data.data  # compact: user-data travels in a size-limited parameter


class JobError(Exception):
    def __init__(self, errortext: str) -> None:
        super().__init__(f"attachVolume failed: {errortext}")
        self.errortext = errortext


@pytest.mark.parametrize(
    "text",
    [
        "You attempted an operation on a VM which requires PV drivers to be installed but the drivers were not "
        "detected.",
        "Failed to attach volume: VM_MISSING_PV_DRIVERS",
    ],
)
def test_pv_driver_hot_plug_error_is_transient(host: PluginHost, text: str) -> None:
    assert host.attach_error_is_transient(JobError(text)) is True
    assert plugin.cpi_attach_error_is_transient(RuntimeError(text)) is True


def test_other_attach_errors_are_left_to_the_core(host: PluginHost) -> None:
    assert plugin.cpi_attach_error_is_transient(JobError("Volume is already attached")) is None
    assert host.attach_error_is_transient(JobError("Volume is already attached")) is False


def test_hooks_implemented(host: PluginHost) -> None:
    assert host.implemented_hooks(host.chain[0]) == [
        "cpi_attach_error_is_transient", "cpi_disk_hint", "cpi_guest_warnings", "cpi_hypervisor", "cpi_template_params",
        "cpi_user_data",
    ]
