"""VM logic without a cloud: input validation, NIC order, settings, registry decisions, sizing, delete fallbacks.

The happy paths and the fault matrix run against the simulator in tests/integration; here a
scripted fake client covers what a simulator cannot easily produce.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest

from cpi_framework import networks as net
from cpi_framework.agent_settings import add_registry_pointer, build_settings
from cpi_framework.cloud_properties import load_networks, load_vm_type
from cpi_framework.cloudstack import ApiError, AsyncJobFailed, AsyncJobTimeout, ReadTimeout
from cpi_framework.config import validate_config
from cpi_framework.errors import CloudError, CpiError, VMCreationFailed
from cpi_framework.methods.vms import display_name
from cpi_framework.services import registry, sizing
from cpi_framework.services import vms as vm_service
from cpi_framework.vm_builder import VmBuild, _transient

VM = "0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a"


class FakePlugins:
    def __init__(self, fields: dict[str, Any] | None = None) -> None:
        self.fields = fields or {}

    def vm_type_fields(self) -> dict[str, Any]:
        return self.fields

    def agent_settings(self, settings: dict[str, Any], vm: dict[str, Any], context: dict[str, Any]) -> dict:
        settings["plugin_saw"] = context
        return settings


class FakeClient:
    """Answers each command from a handler (value, exception, or callable); records the calls."""

    def __init__(self, **handlers: Any) -> None:
        self.handlers = handlers
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _answer(self, command: str, params: dict[str, Any] | None) -> Any:
        params = {k: v for k, v in (params or {}).items() if v is not None}
        self.calls.append((command, params))
        answer = self.handlers[command]
        if callable(answer) and not isinstance(answer, type):
            answer = answer(params)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def list(self, command: str, params: dict[str, Any] | None = None, **_: Any) -> list[dict[str, Any]]:
        return list(self._answer(command, params))

    def find_by_name(self, command: str, name: str, params: dict[str, Any] | None = None, **_: Any) -> list:
        return [i for i in self.list(command, {**(params or {}), "name": name}) if i.get("name") == name]

    def call(self, command: str, params: dict[str, Any] | None = None, **_: Any) -> Any:
        return self._answer(command, params)

    def call_async(self, command: str, params: dict[str, Any] | None = None, **_: Any) -> Any:
        return self._answer(command, params)

    def commands(self) -> list[str]:
        return [c for c, _ in self.calls]


def make_ctx(client: FakeClient | None = None, *, cpi: dict[str, Any] | None = None, api_version: int = 2,
             request: dict[str, Any] | None = None, plugins: FakePlugins | None = None) -> Any:
    config = validate_config({"cloudstack": {"endpoint": "http://127.0.0.1:9/client/api", "api_key": "k",
                                             "secret_access_key": "s", "default_zone": "z"}, "cpi": cpi or {}}, "t")
    ctx = SimpleNamespace(config=config, client=client or FakeClient(), plugins=plugins or FakePlugins(), cache={},
                          log=logging.getLogger("test.vms"), api_version=api_version, request=request or {},
                          director_uuid=(request or {}).get("director_uuid"), request_id=None)
    stemcell = ((request or {}).get("vm") or {}).get("stemcell", {}).get("api_version")
    ctx.stemcell_api_version = stemcell
    ctx.timeout = lambda op: 5.0
    return ctx


# -- cloud_properties ---------------------------------------------------------------------------------


def test_vm_type_tolerates_unknown_keys_and_names_bad_values(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        loaded = load_vm_type(make_ctx(), {"compute_offering": "small", "instance_type": "m1", "disk": "2048"})
    assert loaded["disk"] == 2048 and loaded["affinity_group_type"] == "host anti-affinity"
    assert "instance_type" in caplog.text
    with pytest.raises(CpiError, match=r"cloud_properties\.cpu = \"two\""):
        load_vm_type(make_ctx(), {"cpu": "two"})
    with pytest.raises(CpiError, match=r"cloud_properties\.routes\.net\[0\]\.cidr"):
        load_vm_type(make_ctx(), {"routes": {"net": [{"gateway": "10.0.0.1"}]}})
    assert load_vm_type(make_ctx(), {"lbs": ["a", {"name": "b", "algorithm": "x"}]})["lbs"] == ["a", "b"]


def test_vm_type_accepts_plugin_fields() -> None:
    from marshmallow import fields

    ctx = make_ctx(plugins=FakePlugins({"root_disk_controller": fields.String(load_default="scsi")}))
    assert load_vm_type(ctx, {})["root_disk_controller"] == "scsi"
    assert load_vm_type(ctx, {"root_disk_controller": "ide"})["root_disk_controller"] == "ide"


@pytest.mark.parametrize(("networks", "needle"), [
    ({"m": {"type": "manual", "cloud_properties": {"name": "n"}}}, "networks.m: a manual network needs an 'ip'"),
    ({"v": {"type": "vip"}, "d": {"type": "dynamic", "cloud_properties": {"name": "n"}}}, "needs an 'ip'"),
    ({"v": {"type": "vip", "ip": "1.1.1.1"}, "w": {"type": "vip", "ip": "1.1.1.2"},
      "d": {"type": "dynamic", "cloud_properties": {"name": "n"}}}, "at most one vip"),
    ({"v": {"type": "vip", "ip": "1.1.1.1"}}, "at least one manual or dynamic"),
    ({"d": {"type": "dynamic"}}, "networks.d.cloud_properties.name"),
    ({"d": {"type": "dynamic", "dns": "8.8.8.8", "cloud_properties": {"name": "n"}}}, 'networks.d.dns = "8.8.8.8"'),
    ([], "non-empty object"),
    ({"d": 3}, "networks.d: expected an object, got 3"),
])
def test_networks_validation_names_key_and_value(networks: Any, needle: str) -> None:
    with pytest.raises(CpiError) as info:
        load_networks(make_ctx(), networks)
    assert needle in str(info.value)


def test_network_type_defaults_from_ip_and_prefix_is_a_string() -> None:
    loaded = load_networks(make_ctx(), {"a": {"ip": "10.0.0.5", "prefix": 32, "cloud_properties": {"name": "n"}},
                                        "b": {"cloud_properties": {"name": "m"}}})
    assert (loaded["a"]["type"], loaded["a"]["prefix"], loaded["b"]["type"]) == ("manual", "32", "dynamic")


# -- NIC order and settings ------------------------------------------------------------------------------

NETS = {
    "n1": {"id": "id-1", "name": "n1", "service": [{"name": "Dhcp"}]},
    "n2": {"id": "id-2", "name": "n2", "service": [{"name": "UserData"}]},
    "n3": {"id": "id-3", "name": "n3", "service": [{"name": "UserData"}]},
}


def test_nic_order_puts_the_user_data_network_with_the_gateway_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(net.catalog, "network", lambda ctx, zone, name: NETS[name])
    specs = load_networks(make_ctx(), {
        "a": {"type": "dynamic", "cloud_properties": {"name": "n1"}, "default": ["dns", "gateway"]},
        "b": {"type": "dynamic", "cloud_properties": {"name": "n2"}},
        "c": {"type": "manual", "ip": "10.0.0.9", "cloud_properties": {"name": "n3"}, "default": ["gateway"]},
    })
    nics = net.plan_nics(make_ctx(), "zone", specs)
    assert [n.name for n in nics] == ["c", "b", "a"]
    assert net.ip_to_network_list(nics) == [{"networkid": "id-3", "ip": "10.0.0.9"}, {"networkid": "id-2"},
                                            {"networkid": "id-1"}]


def test_two_bosh_networks_on_one_cloudstack_network_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(net.catalog, "network", lambda ctx, zone, name: NETS["n2"])
    specs = load_networks(make_ctx(), {"a": {"cloud_properties": {"name": "x"}},
                                       "b": {"cloud_properties": {"name": "y"}}})
    with pytest.raises(CpiError, match="both use CloudStack network"):
        net.plan_nics(make_ctx(), "zone", specs)


def test_settings_networks_take_macs_and_dynamic_addresses_from_the_nics() -> None:
    specs = load_networks(make_ctx(), {"d": {"type": "dynamic", "cloud_properties": {"name": "n2"}},
                                       "v": {"type": "vip", "ip": "203.0.113.5"}})
    nics = [net.Nic("d", specs["d"], NETS["n2"])]
    vm = {"id": VM, "nic": [{"networkid": "id-2", "macaddress": "02:00:00:00:00:09", "ipaddress": "10.1.1.5",
                             "netmask": "255.255.255.0", "gateway": "10.1.1.1"}]}
    result = net.settings_networks(make_ctx(), vm, nics, specs, {"d": [{"cidr": "192.168.0.0/16", "gateway": None}]})
    assert result["d"]["mac"] == "02:00:00:00:00:09" and result["d"]["ip"] == "10.1.1.5"
    assert result["d"]["default"] == ["dns", "gateway"] and result["d"]["use_dhcp"] is True
    assert result["d"]["routes"] == [{"Destination": "192.168.0.0", "Gateway": "10.1.1.1", "Netmask": "255.255.0.0"}]
    assert result["v"] == {"type": "vip", "ip": "203.0.113.5", "cloud_properties": {}}


def test_settings_document_and_registry_pointer() -> None:
    ctx = make_ctx(cpi={"agent": {"mbus": "nats://u:p@h:4222"}, "ntp": ["ntp1"],
                        "registry": {"endpoint": "http://reg:25777", "user": "u", "password": "p@ss"}})
    settings = build_settings(ctx, agent_id="a", vm={"id": VM}, system_hint="/dev/xvda", ephemeral_hint=None,
                              env=None, networks={"d": {"dns": ["1.1.1.1"], "default": ["dns"]}})
    assert settings["disks"] == {"system": "/dev/xvda", "persistent": {}} and settings["env"] == {}
    assert settings["mbus"] == "nats://u:p@h:4222" and settings["ntp"] == ["ntp1"] and "blobstore" not in settings
    assert settings["plugin_saw"]["api_version"] == 2
    pointer = add_registry_pointer(ctx, settings, {"id": VM})
    assert pointer["registry"]["endpoint"] == "http://u:p%40ss@reg:25777"
    assert pointer["server"] == {"name": VM} and pointer["dns"] == {"nameserver": ["1.1.1.1"]}


@pytest.mark.parametrize(("api", "stemcell", "configured", "expected"), [
    (2, 3, True, False), (2, 1, False, True), (1, 1, False, True), (1, None, True, True), (1, None, False, False),
    (2, None, True, False),
])
def test_registry_mode(api: int, stemcell: int | None, configured: bool, expected: bool) -> None:
    request = {"vm": {"stemcell": {"api_version": stemcell}}} if stemcell is not None else {}
    ctx = make_ctx(api_version=api, request=request, cpi={"registry": {"endpoint": "http://r"}} if configured else {})
    assert registry.registry_mode(ctx) is expected
    assert registry.safe_endpoint("http://user:pw@r:1/x") == "http://r:1/x"


def test_display_name() -> None:
    assert display_name({"name": "web/abc", "job": "web"}) == "web/abc"
    assert display_name({"job": "compilation-1", "index": 0, "compiling": "pkg"}) == "compilation-1/0 (compiling pkg)"
    assert display_name({"deployment": "d"}) is None


# -- sizing ----------------------------------------------------------------------------------------------

OFFERINGS = [
    {"name": "big", "cpunumber": 4, "memory": 8192, "storagetags": "ssd"},
    {"name": "tiny", "cpunumber": 1, "memory": 512},
    {"name": "mid", "cpunumber": 2, "memory": 2048, "storagetags": "ssd"},
]


def test_sizing_picks_smallest_fit_honours_tags_and_never_undersizes() -> None:
    client = FakeClient(listServiceOfferings=OFFERINGS, listDiskOfferings=[
        {"name": "d10", "disksize": 10}, {"name": "d100", "disksize": 100, "tags": "ssd"}])
    ctx = make_ctx(client)
    assert sizing.cloud_properties_for(ctx, {"cpu": 1, "ram": 600, "ephemeral_disk_size": 4096}) == {
        "compute_offering": "mid", "disk": 4096, "ephemeral_disk_offering": "d10"}
    tagged = make_ctx(client, cpi={"calculate_vm_cloud_properties": {"compute": {"tags": "ssd"},
                                                                      "disk": {"tags": "ssd"}}})
    assert sizing.cloud_properties_for(tagged, {"cpu": 1, "ram": 100, "ephemeral_disk_size": 1}) == {
        "compute_offering": "mid", "disk": 1, "ephemeral_disk_offering": "d100"}
    with pytest.raises(CloudError, match="largest is 'big'"):
        sizing.cloud_properties_for(ctx, {"cpu": 8, "ram": 1024, "ephemeral_disk_size": 0})
    with pytest.raises(CloudError, match="no disk offering with tags ssd"):
        sizing.cloud_properties_for(tagged, {"cpu": 1, "ram": 1, "ephemeral_disk_size": 200 * 1024})


# -- delete path fallbacks ---------------------------------------------------------------------------------

REFUSED = "Parameter expunge can be passed by Admin only. Or when the allow.user.expunge.recover.vm key is set."


def test_destroy_falls_back_when_expunge_is_refused_in_the_job() -> None:
    client = FakeClient(destroyVirtualMachine=lambda p: (
        AsyncJobFailed("destroyVirtualMachine", "j1", errorcode=530, errortext=REFUSED) if p.get("expunge") else {}),
        expungeVirtualMachine=ApiError("expungeVirtualMachine", REFUSED, http_status=531),
        listVirtualMachines=[])
    ctx = make_ctx(client, cpi={"vm_expunge_delay": 1})
    vm_service.destroy_vm(ctx, {"id": VM})
    assert client.commands() == ["destroyVirtualMachine", "destroyVirtualMachine", "expungeVirtualMachine",
                                 "listVirtualMachines"]


def test_delete_is_not_reported_while_the_vm_still_runs() -> None:
    client = FakeClient(listVirtualMachines=[{"id": VM, "state": "Running"}])
    with pytest.raises(CloudError, match="still Running"):
        vm_service.verify_gone(make_ctx(client), {"id": VM})


def test_find_vm_costs_nothing_for_foreign_cids_and_treats_destroyed_as_absent() -> None:
    client = FakeClient(listVirtualMachines=[{"id": VM, "state": "Destroyed"}])
    ctx = make_ctx(client)
    assert vm_service.find_vm(ctx, "i-123") is None and client.calls == []
    assert vm_service.find_vm(ctx, VM) is None
    client.handlers["listVirtualMachines"] = ApiError("listVirtualMachines", "Invalid parameter id value=x due to "
                                                      "incorrect long value format, or entity does not exist",
                                                      http_status=431)
    assert vm_service.find_vm(make_ctx(client), VM) is None


# -- create_vm failure reporting ------------------------------------------------------------------------------


def test_transient_follows_the_cause_chain() -> None:
    try:
        try:
            raise AsyncJobTimeout("j", "startVirtualMachine", 3.0)
        except AsyncJobTimeout as exc:
            raise CloudError("wrapped") from exc
    except CloudError as wrapped:
        assert _transient(wrapped) is True
    assert _transient(ApiError("deployVirtualMachine", "Invalid parameter", http_status=431)) is False
    assert _transient(ReadTimeout("x", command="deployVirtualMachine")) is True


def test_unknown_outcome_deploy_is_cleaned_by_its_unique_name_and_leftovers_reported() -> None:
    build = VmBuild(make_ctx())
    hostname = build.hostname
    client = FakeClient(listVirtualMachines=lambda p: [{"id": VM, "name": hostname, "state": "Running",
                                                        "zoneid": "z"}] if p.get("name") or p.get("id") else [])
    build.ctx.client = client
    build.deploy_attempted = True
    client.handlers.update(disableStaticNat={}, listVolumes=[], destroyVirtualMachine=CloudError("destroy refused"))
    with pytest.raises(VMCreationFailed) as info:
        build._fail(ReadTimeout("no answer", command="deployVirtualMachine"))
    assert info.value.ok_to_retry is True
    assert "cleanup left: VM" in info.value.message and "destroy refused" in info.value.message
    assert ("listVirtualMachines", {"name": hostname}) in client.calls


EPH, PERS = "1e1e1e1e-0000-4000-8000-000000000001", "2f2f2f2f-0000-4000-8000-000000000002"


def test_delete_is_one_destroy_job_that_takes_the_ephemeral_disk_along() -> None:
    """No forced stop, no separate detach/delete of the ephemeral disk, no VM read-back when the
    job's answer shows the VM destroyed: listVolumes, destroy(+poll), ephemeral read-back."""
    ephemeral = {"id": EPH, "virtualmachineid": VM, "type": "DATADISK", "deviceid": 1, "state": "Ready",
                 "name": f"bosh-ephemeral-{VM}"}
    persistent = {"id": PERS, "virtualmachineid": VM, "type": "DATADISK", "deviceid": 2, "state": "Ready",
                  "name": "bosh-disk"}
    gone: set[str] = set()

    def list_volumes(p: dict) -> list:
        if p.get("virtualmachineid"):
            return [ephemeral, persistent]
        return [] if p.get("id") in gone else [v for v in (ephemeral, persistent) if v["id"] == p.get("id")]

    def destroy(p: dict) -> dict:
        gone.update(p["volumeids"].split(","))
        return {"virtualmachine": {"id": VM, "state": "Expunging"}}

    client = FakeClient(listVolumes=list_volumes, detachVolume={}, destroyVirtualMachine=destroy)
    vm_service.delete_vm_resources(make_ctx(client), {"id": VM, "state": "Running"})
    assert client.commands() == ["listVolumes", "detachVolume", "destroyVirtualMachine", "listVolumes"]
    destroy_params = dict(client.calls)["destroyVirtualMachine"]
    assert destroy_params["volumeids"] == EPH and destroy_params["expunge"] is True  # never the persistent disk
    assert ("detachVolume", {"id": PERS}) in client.calls


def test_an_ephemeral_disk_the_destroy_left_behind_is_deleted_and_read_back() -> None:
    """A server older than 4.12 ignores volumeids: the disk survives the destroy, detached."""
    state = {"attached": True, "deleted": False}

    def list_volumes(p: dict) -> list:
        volume = {"id": EPH, "type": "DATADISK", "state": "Ready", "name": f"bosh-ephemeral-{VM}",
                  "virtualmachineid": VM if state["attached"] else None, "deviceid": 1 if state["attached"] else None}
        return [] if state["deleted"] else [volume]

    def destroy(p: dict) -> dict:
        state["attached"] = False
        return {"virtualmachine": {"id": VM, "state": "Expunging"}}

    client = FakeClient(listVolumes=list_volumes, destroyVirtualMachine=destroy,
                        deleteVolume=lambda p: state.update(deleted=True) or {})
    vm_service.delete_vm_resources(make_ctx(client), {"id": VM, "state": "Running"})
    assert client.commands() == ["listVolumes", "destroyVirtualMachine", "listVolumes", "deleteVolume", "listVolumes"]


def test_a_destroy_that_fails_with_the_vm_running_is_retried_after_a_forced_stop() -> None:
    """The destroy job stops the VM gracefully (vm.destroy.forcestop off by default); a guest that
    ignores the shutdown makes it fail: then, and only then, a forced stop and a second destroy."""
    answers = [AsyncJobFailed("destroyVirtualMachine", "j1", errorcode=530, errortext="Unable to stop VM"),
               {"virtualmachine": {"id": VM, "state": "Expunging"}}]
    client = FakeClient(listVolumes=[], listVirtualMachines=[{"id": VM, "state": "Running"}],
                        destroyVirtualMachine=lambda p: answers.pop(0), stopVirtualMachine={})
    vm_service.delete_vm_resources(make_ctx(client), {"id": VM, "state": "Running"})
    assert client.commands() == ["listVolumes", "listVolumes", "destroyVirtualMachine", "listVirtualMachines",
                                 "stopVirtualMachine", "destroyVirtualMachine"]
    assert ("stopVirtualMachine", {"id": VM, "forced": True}) in client.calls
