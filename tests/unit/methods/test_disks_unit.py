"""Disk and snapshot logic without a cloud: sizes, CID forms, attach retries, resize/update rules, failure paths.

A scripted fake client answers each command from a handler, so the failure paths a
simulator cannot easily produce (a job that fails half-way, a volume that survives its
delete) are covered here; the happy paths run against the simulator in tests/integration.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from cpi_framework.cloudstack import (
    ApiError,
    AsyncJob,
    AsyncJobFailed,
    AsyncJobTimeout,
    AuthenticationError,
    CloudStackError,
)
from cpi_framework.config import validate_config
from cpi_framework.context import CallContext
from cpi_framework.errors import CloudError, CpiError, DiskNotAttached, DiskNotFound, NotSupported
from cpi_framework.methods import disks, snapshots
from cpi_framework.plugin_system.host import PluginHost
from cpi_framework.services import volumes

VOL = "6f1c2a9e-3b7d-4c55-9e21-0a8b7c6d5e4f"
VM = "0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a"
OTHER_VM = "11111111-2222-3333-4444-555555555555"
ZONE = "aaaaaaaa-0000-0000-0000-000000000001"
CUSTOM = {"id": "c0000000-0000-0000-0000-000000000001", "name": "disk-custom", "iscustomized": True, "disksize": 0}
FIXED = {"id": "f0000000-0000-0000-0000-000000000001", "name": "disk-small", "iscustomized": False, "disksize": 10}
LARGE = {"id": "f0000000-0000-0000-0000-000000000002", "name": "disk-large", "iscustomized": False, "disksize": 100}
GIB = 2**30

Handler = Callable[[dict[str, Any]], Any]


class FakeClient:
    """Answers commands from handlers (a dict, a list to return, or an exception to raise); records calls."""

    def __init__(self, handlers: dict[str, Any]) -> None:
        self.handlers = handlers
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _answer(self, command: str, params: dict[str, Any] | None) -> Any:
        params = {k: v for k, v in (params or {}).items() if v is not None}
        self.calls.append((command, params))
        handler = self.handlers[command]
        answer = handler(params) if callable(handler) else handler
        if isinstance(answer, list) and answer and isinstance(answer[0], BaseException | dict) and command not in (
                "listVolumes", "listDiskOfferings", "listSnapshots", "listZones"):
            answer = answer.pop(0)  # a script of successive answers
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def list(self, command: str, params: dict[str, Any] | None = None, **_: Any) -> list[dict[str, Any]]:
        return list(self._answer(command, params))

    def find_by_name(self, command: str, name: str, params: dict[str, Any] | None = None, **_: Any) -> list:
        return [i for i in self.list(command, {**(params or {}), "name": name}) if i.get("name") == name]

    def call(self, command: str, params: dict[str, Any] | None = None, **_: Any) -> dict:
        return self._answer(command, params)

    def call_async(self, command: str, params: dict[str, Any] | None = None, **_: Any) -> dict:
        return self._answer(command, params)

    def submit(self, command: str, params: dict[str, Any] | None = None) -> AsyncJob:
        self.calls.append((command, dict(params or {})))
        return AsyncJob("job-1", command, self.handlers.get(f"{command}:object_id"))

    def wait(self, job: AsyncJob, **_: Any) -> dict:
        if f"{job.command}:wait" not in self.handlers:  # a job submitted, then waited: the command's handler
            handler = self.handlers[job.command]
            answer = handler({}) if callable(handler) else handler
            if isinstance(answer, BaseException):
                raise answer
            return answer
        return self._answer(f"{job.command}:wait", {})

    def wait_all(self, jobs: list[AsyncJob], **_: Any) -> list[Any]:
        results: list[Any] = []
        for job in jobs:
            try:
                results.append(self.wait(job))
            except CloudStackError as exc:
                results.append(exc)
        return results

    def commands(self) -> list[str]:
        return [c for c, _ in self.calls]


def make_ctx(handlers: dict[str, Any], *, api_version: int = 2, hypervisor: str = "xen",
             default_offering: str | None = "disk-custom") -> CallContext:
    config = validate_config({"cloudstack": {"endpoint": "http://127.0.0.1:9/client/api", "api_key": "k" * 8,
                                             "secret_access_key": "s" * 8, "default_zone": "zone-xen",
                                             "hypervisor": hypervisor, "timeouts": {"attach_volume": 30}},
                              "cpi": {"default_disk_offering": default_offering}}, "test")
    plugins = PluginHost(hypervisor)
    ctx = CallContext(config.with_plugin_defaults(plugins.defaults), plugins, api_version=api_version,
                      logger=logging.getLogger("cpi.test"))
    ctx.__dict__["client"] = FakeClient(handlers)
    return ctx


def offerings(params: dict[str, Any]) -> list[dict[str, Any]]:
    every = [CUSTOM, FIXED, LARGE]
    return [o for o in every if params.get("id") in (None, o["id"]) and params.get("name") in (None, o["name"])]


def vol(**fields: Any) -> dict[str, Any]:
    return {"id": VOL, "name": "bosh-disk-x", "type": "DATADISK", "state": "Ready", "zoneid": ZONE,
            "size": 2 * GIB, "diskofferingid": CUSTOM["id"], **fields}


# -- sizes and cloud_properties -----------------------------------------------------------------


@pytest.mark.parametrize(("mib", "gb"), [(1, 1), (1024, 1), (1025, 2), (1500, 2), (2048, 2), (10241, 11)])
def test_sizes_round_up_to_whole_gb(mib: int, gb: int) -> None:
    assert volumes.gb_for(mib) == gb
    assert volumes.size_params(CUSTOM, mib) == {"size": gb}


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2048", True, None])
def test_sizes_must_be_positive_integers(bad: Any) -> None:
    with pytest.raises(CpiError, match=repr(bad).replace("(", r"\(").replace(")", r"\)")):
        volumes.check_size_mb(bad)


def test_fixed_offerings_must_hold_the_size() -> None:
    assert volumes.size_params(FIXED, 10240) == {}
    with pytest.raises(CloudError, match="disk-small.*10 GB.*10241 MiB"):
        volumes.size_params(FIXED, 10241)


def test_disk_type_tolerates_unknown_keys_and_names_bad_values(caplog: pytest.LogCaptureFixture) -> None:
    ctx = make_ctx({})
    with caplog.at_level(logging.WARNING):
        assert volumes.load_disk_type(ctx, {"disk_offering": "disk-large", "iops": 5})["disk_offering"] == "disk-large"
    assert "iops" in caplog.text
    with pytest.raises(CpiError, match="disk_offering = 7"):
        volumes.load_disk_type(ctx, {"disk_offering": 7})
    assert volumes.offering_for(ctx, {"disk_offering": None}) == "disk-custom"
    with pytest.raises(CpiError, match="default_disk_offering"):
        volumes.offering_for(make_ctx({}, default_offering=None), {"disk_offering": None})


# -- CIDs -----------------------------------------------------------------------------------------


def test_cids_of_other_shapes_cost_no_call() -> None:
    ctx = make_ctx({})
    assert volumes.find_volume(ctx, "vol-123") is None
    assert ctx.client.calls == []


def test_uuid_cids_ignore_root_and_dying_volumes() -> None:
    for gone in (vol(state="Destroy"), vol(state="Expunging"), vol(type="ROOT")):
        assert volumes.find_volume(make_ctx({"listVolumes": [gone]}), VOL) is None
    ctx = make_ctx({"listVolumes": [vol()]})
    assert volumes.find_volume(ctx, VOL)["id"] == VOL
    assert ctx.client.calls == [("listVolumes", {"id": VOL, "listall": True})]
    missing = ApiError("listVolumes", f"Invalid parameter id value={VOL} due to incorrect long value format, "
                                      "or entity does not exist", errorcode=431)
    with pytest.raises(DiskNotFound, match=VOL):
        volumes.get_volume(make_ctx({"listVolumes": lambda _: (_ for _ in ()).throw(missing)}), VOL)


def test_legacy_names_resolve_exactly_and_refuse_ambiguity() -> None:
    name = "cpi-disk-1234"
    items = [vol(name=name), vol(id=OTHER_VM, name=name + "0")]
    assert volumes.find_volume(make_ctx({"listVolumes": items}), name)["id"] == VOL
    with pytest.raises(CloudError, match="ambiguous"):
        volumes.find_volume(make_ctx({"listVolumes": [vol(name=name), vol(id=OTHER_VM, name=name)]}), name)


def test_cid_and_role_of_legacy_and_own_volumes() -> None:
    own = vol(tags=[{"key": "bosh-role", "value": "persistent-disk"}])
    assert (volumes.cid_of(own), volumes.role_of(own)) == (VOL, "persistent-disk")
    legacy = vol(name="cpi-disk-77")
    assert (volumes.cid_of(legacy), volumes.role_of(legacy)) == ("cpi-disk-77", "persistent-disk")
    assert volumes.role_of(vol(name="cpi-ephemeral-disk-9")) == "ephemeral-disk"
    assert volumes.role_of(vol(name="DATA-5")) is None


# -- create / attach / delete -----------------------------------------------------------------------


def test_create_volume_removes_what_a_failed_job_left() -> None:
    failure = AsyncJobFailed("createVolume", "job-1", errorcode=530, errortext="primary storage full")
    ctx = make_ctx({"listDiskOfferings": offerings, "createVolume:object_id": VOL, "createVolume:wait": [failure],
                    "createTags": {}, "deleteVolume": {"success": True}})
    with pytest.raises(CloudError, match="primary storage full"):
        volumes.create_volume(ctx, name="n", zone_id=ZONE, size_mb=1024, offering="disk-custom",
                              role="persistent-disk")
    assert ("deleteVolume", {"id": VOL}) in ctx.client.calls


def test_attach_is_idempotent_and_refuses_other_vms_and_zones() -> None:
    ctx = make_ctx({})
    same = vol(virtualmachineid=VM, deviceid=2)
    assert volumes.attach_volume(ctx, same, {"id": VM, "zoneid": ZONE}) is same
    with pytest.raises(CloudError, match=f"{OTHER_VM}.*{VM}"):
        volumes.attach_volume(ctx, vol(virtualmachineid=OTHER_VM), {"id": VM, "zoneid": ZONE})
    with pytest.raises(CloudError, match="zone"):
        volumes.attach_volume(ctx, vol(), {"id": VM, "zoneid": "elsewhere"})
    assert ctx.client.calls == []


def test_attach_retries_what_the_plugin_calls_transient(monkeypatch: pytest.MonkeyPatch) -> None:
    pauses: list[float] = []
    monkeypatch.setattr(volumes.time, "sleep", pauses.append)
    pv = AsyncJobFailed("attachVolume", "j", errorcode=530, errortext="VM which requires PV drivers to be installed")
    attached = vol(virtualmachineid=VM, deviceid=2)
    ctx = make_ctx({"attachVolume": [pv, pv, {"volume": attached}], "listVolumes": [vol()]})
    assert volumes.attach_volume(ctx, vol(), {"id": VM, "zoneid": ZONE}) == attached
    assert pauses == list(volumes.ATTACH_RETRY_PAUSE[:2])


def test_attach_gives_up_on_other_errors_and_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(volumes.time, "sleep", lambda _: None)
    broken = AsyncJobFailed("attachVolume", "j", errorcode=530, errortext="storage pool is down")
    ctx = make_ctx({"attachVolume": [broken], "listVolumes": [vol()]})
    with pytest.raises(CloudError, match="after 1 attempt"):
        volumes.attach_volume(ctx, vol(), {"id": VM, "zoneid": ZONE})

    now = [0.0]
    monkeypatch.setattr(volumes.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(volumes.time, "sleep", lambda s: now.__setitem__(0, now[0] + s))
    pv = AsyncJobFailed("attachVolume", "j", errorcode=530, errortext="requires PV drivers to be installed")
    ctx = make_ctx({"attachVolume": lambda _: pv, "listVolumes": [vol()]})
    with pytest.raises(CloudError, match="PV drivers") as err:
        volumes.attach_volume(ctx, vol(), {"id": VM, "zoneid": ZONE})
    assert err.value.ok_to_retry and now[0] <= 30
    assert ctx.client.commands().count("attachVolume") >= 4


def test_attach_timeout_is_a_retryable_cloud_error() -> None:
    ctx = make_ctx({"attachVolume": [AsyncJobTimeout("j", "attachVolume", 30.0)]})
    with pytest.raises(CloudError, match="did not finish") as err:
        volumes.attach_volume(ctx, vol(), {"id": VM, "zoneid": ZONE})
    assert err.value.ok_to_retry


def test_delete_volume_reports_success_only_when_gone() -> None:
    ctx = make_ctx({"deleteVolume": {"success": True}, "listVolumes": [vol()]})
    with pytest.raises(CloudError, match="still exists"):
        volumes.delete_volume(ctx, vol())
    gone = ApiError("deleteVolume", f"Unable to find volume with ID: {VOL}", errorcode=431)
    volumes.delete_volume(make_ctx({"deleteVolume": [gone], "listVolumes": []}), vol())


# -- methods ---------------------------------------------------------------------------------------


def test_delete_disk_never_forces_but_frees_disks_of_destroyed_vms() -> None:
    attached = vol(virtualmachineid=VM, vmname="i-2-3-VM", vmstate="Running")
    with pytest.raises(CloudError, match="i-2-3-VM"):
        disks.delete_disk(make_ctx({"listVolumes": [attached]}), VOL)
    lists = [[vol(virtualmachineid=VM, vmstate="Destroyed")], [], []]
    ctx = make_ctx({"listVolumes": lambda _: lists.pop(0), "detachVolume": {"volume": vol()},
                    "deleteVolume": {"success": True}})
    disks.delete_disk(ctx, VOL)
    assert ctx.client.commands() == ["listVolumes", "detachVolume", "deleteVolume", "listVolumes"]


def test_detach_disk_choices() -> None:
    assert disks.detach_disk(make_ctx({"listVolumes": []}), VM, VOL) is None
    assert disks.detach_disk(make_ctx({"listVolumes": [vol()]}), VM, VOL) is None
    with pytest.raises(DiskNotAttached, match=OTHER_VM):
        disks.detach_disk(make_ctx({"listVolumes": [vol(virtualmachineid=OTHER_VM)]}), VM, VOL)
    # an earlier CPI's VM CID is the VM's name
    ctx = make_ctx({"listVolumes": [vol(virtualmachineid=VM, vmname="cpivm-42")], "detachVolume": {}})
    disks.detach_disk(ctx, "cpivm-42", VOL)
    assert ("detachVolume", {"id": VOL}) in ctx.client.calls


def test_resize_rules() -> None:
    ctx = make_ctx({"listVolumes": [vol()]})
    disks.resize_disk(ctx, VOL, 1500)  # 2 GB already
    assert ctx.client.commands() == ["listVolumes"]
    with pytest.raises(NotSupported, match="shrink"):
        disks.resize_disk(make_ctx({"listVolumes": [vol()]}), VOL, 1024)
    with pytest.raises(CloudError, match="detach"):
        disks.resize_disk(make_ctx({"listVolumes": [vol(virtualmachineid=VM)]}), VOL, 4096)
    ctx = make_ctx({"listVolumes": [vol()], "listDiskOfferings": offerings,
                    "resizeVolume": {"volume": vol(size=4 * GIB)}})
    disks.resize_disk(ctx, VOL, 4096)
    assert ("resizeVolume", {"id": VOL, "size": 4}) in ctx.client.calls


def test_resize_of_a_fixed_offering_moves_to_the_custom_default_or_is_not_supported() -> None:
    fixed = vol(size=10 * GIB, diskofferingid=FIXED["id"])
    ctx = make_ctx({"listVolumes": [fixed], "listDiskOfferings": offerings,
                    "resizeVolume": {"volume": vol(size=20 * GIB)}})
    disks.resize_disk(ctx, VOL, 20480)
    assert ("resizeVolume", {"id": VOL, "size": 20, "diskofferingid": CUSTOM["id"]}) in ctx.client.calls
    ctx = make_ctx({"listVolumes": [fixed], "listDiskOfferings": offerings}, default_offering="disk-large")
    with pytest.raises(NotSupported, match="disk-small"):
        disks.resize_disk(ctx, VOL, 20480)


def test_resize_verifies_the_new_size() -> None:
    ctx = make_ctx({"listVolumes": [vol()], "listDiskOfferings": offerings, "resizeVolume": {"volume": vol()}})
    with pytest.raises(CloudError, match="not 4 GB"):
        disks.resize_disk(ctx, VOL, 4096)


def test_update_disk_same_type_keeps_the_cid() -> None:
    ctx = make_ctx({"listVolumes": [vol()], "listDiskOfferings": offerings})
    assert disks.update_disk(ctx, VOL, 2048, {}) == VOL
    assert "resizeVolume" not in ctx.client.commands()
    fixed = vol(size=10 * GIB, diskofferingid=FIXED["id"])
    ctx = make_ctx({"listVolumes": [fixed], "listDiskOfferings": offerings})
    assert disks.update_disk(ctx, VOL, 8192, {"disk_offering": "disk-small"}) == VOL
    with pytest.raises(CloudError, match="too small"):
        disks.update_disk(make_ctx({"listVolumes": [fixed], "listDiskOfferings": offerings}), VOL, 20480,
                          {"disk_offering": "disk-small"})


@pytest.mark.parametrize(
    ("outcome", "after", "expected"),
    [
        ({"volume": vol(diskofferingid=LARGE["id"], size=100 * GIB)}, None, None),
        (ApiError("changeOfferingForVolume", "The given command does not exist", errorcode=432), None, NotSupported),
        (ApiError("changeOfferingForVolume", "try later", http_status=503), None, CloudError),
        (AsyncJobFailed("changeOfferingForVolume", "j", errorcode=530, errortext="no pool"), vol(), NotSupported),
        (AsyncJobFailed("changeOfferingForVolume", "j", errorcode=530, errortext="half"),
         vol(size=100 * GIB), CloudError),
        (AsyncJobTimeout("j", "changeOfferingForVolume", 60.0), None, CloudError),
    ],
)
def test_update_disk_to_another_offering(outcome: Any, after: Any, expected: type[Exception] | None) -> None:
    lists = [[vol()], [after]] if after is not None else [[vol()]]
    ctx = make_ctx({"listVolumes": lambda _: lists.pop(0), "listDiskOfferings": offerings,
                    "changeOfferingForVolume": [outcome],
                    "listCapabilities": {"capability": {"cloudstackversion": "4.19.1.0"}}})
    if expected is None:
        assert disks.update_disk(ctx, VOL, 2048, {"disk_offering": "disk-large"}) == VOL
    else:
        with pytest.raises(expected) as err:
            disks.update_disk(ctx, VOL, 2048, {"disk_offering": "disk-large"})
        assert type(err.value) is expected
    assert ("changeOfferingForVolume", {"id": VOL, "diskofferingid": LARGE["id"]}) in ctx.client.calls


@pytest.mark.parametrize("refusal", [
    ApiError("changeOfferingForVolume", "The given command does not exist or it is not available for user",
             errorcode=432),
    AuthenticationError("changeOfferingForVolume", "unable to verify user credentials and/or request signature",
                        errorcode=401),
])
def test_update_disk_before_4_17_changes_the_offering_with_resize_volume(refusal: ApiError) -> None:
    """CloudStack < 4.17 has no changeOfferingForVolume (432 up to 4.10, 401 later): one listCapabilities
    tells that from a role denial or wrong keys, then resizeVolume with the new offering does the change."""
    ctx = make_ctx({"listVolumes": [vol()], "listDiskOfferings": offerings, "changeOfferingForVolume": [refusal],
                    "listCapabilities": {"capability": {"cloudstackversion": "4.15.2.0"}},
                    "resizeVolume": {"volume": vol(diskofferingid=LARGE["id"], size=100 * GIB)}})
    assert disks.update_disk(ctx, VOL, 2048, {"disk_offering": "disk-large"}) == VOL
    assert ctx.client.commands()[-2:] == ["listCapabilities", "resizeVolume"]
    assert ("resizeVolume", {"id": VOL, "diskofferingid": LARGE["id"]}) in ctx.client.calls


def test_update_disk_never_shrinks_through_an_offering() -> None:
    ctx = make_ctx({"listVolumes": [vol(size=100 * GIB, diskofferingid=LARGE["id"])],
                    "listDiskOfferings": offerings})
    with pytest.raises(NotSupported, match="shrink"):
        disks.update_disk(ctx, VOL, 2048, {"disk_offering": "disk-small"})


# -- snapshots ----------------------------------------------------------------------------------------


def test_snapshot_tags_fall_back_to_create_tags_when_the_server_ignores_them() -> None:
    ctx = make_ctx({"listVolumes": [vol()], "createSnapshot:wait": {"snapshot": {"id": "s-1", "tags": []}},
                    "createTags": {}})
    assert snapshots.snapshot_disk(ctx, VOL, {"index": 0, "bosh-role": "spoofed"}) == "s-1"
    submitted = dict(ctx.client.calls)["createSnapshot"]
    assert {"key": "index", "value": "0"} in submitted["tags"]
    assert {"key": "bosh-role", "value": "snapshot"} in submitted["tags"]
    assert "createTags" in ctx.client.commands()


def test_snapshot_timeout_discards_the_snapshot() -> None:
    ctx = make_ctx({"listVolumes": [vol()], "createSnapshot:object_id": "s-1",
                    "createSnapshot:wait": [AsyncJobTimeout("j", "createSnapshot", 60.0)]})
    with pytest.raises(CloudError, match="did not finish"):
        snapshots.snapshot_disk(ctx, VOL, {})
    assert ("deleteSnapshot", {"id": "s-1"}) in ctx.client.calls


def test_delete_snapshot_of_nothing_succeeds() -> None:
    ctx = make_ctx({})
    snapshots.delete_snapshot(ctx, "snap-not-a-uuid")
    assert ctx.client.calls == []
    snapshots.delete_snapshot(make_ctx({"listSnapshots": []}), VOL)
    failure = AsyncJobFailed("deleteSnapshot", "j", errorcode=530, errortext="busy")
    with pytest.raises(CloudError, match="busy"):
        snapshots.delete_snapshot(make_ctx({"listSnapshots": [{"id": VOL, "state": "BackedUp"}],
                                            "deleteSnapshot": [failure]}), VOL)
