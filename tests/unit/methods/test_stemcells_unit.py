"""Stemcell logic without a cloud: CID forms, readiness rules, waits, names, property checks."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from cpi_framework.config import validate_config
from cpi_framework.context import CallContext
from cpi_framework.errors import CloudError, CpiError
from cpi_framework.methods import stemcells
from cpi_framework.plugin_system.host import PluginHost
from cpi_framework.services import templates
from cpi_framework.types import TemplateParams

TEMPLATE_ID = "11111111-2222-3333-4444-555555555555"
ZONE_A, ZONE_B = "aaaaaaaa-0000-0000-0000-000000000001", "bbbbbbbb-0000-0000-0000-000000000002"


class FakeClient:
    """Answers listTemplates from a list of templates, applying id/name/zoneid/filter like the server."""

    def __init__(self, items: list[dict[str, Any]] | None = None) -> None:
        self.items = items or []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.clock = lambda: 0.0

    def list(self, command: str, params: dict[str, Any] | None = None, **_: Any) -> list[dict[str, Any]]:
        params = {k: v for k, v in (params or {}).items() if v is not None}
        self.calls.append((command, params))
        assert command == "listTemplates"
        found = list(self.items)
        if params.get("templatefilter") == "executable":
            found = [t for t in found if t.get("isready")]
        for key in ("id", "name", "zoneid"):
            if key in params:
                found = [t for t in found if t.get(key) == params[key]]
        return found

    def find_by_name(self, command: str, name: str, params: dict[str, Any] | None = None, **_: Any) -> list:
        return [t for t in self.list(command, {**(params or {}), "name": name}) if t.get("name") == name]


def make_ctx(client: FakeClient | None = None, api_version: int = 2, hypervisor: str = "xen") -> CallContext:
    config = validate_config({"cloudstack": {"endpoint": "http://127.0.0.1:9/client/api", "api_key": "k" * 8,
                                             "secret_access_key": "s" * 8, "default_zone": "zone-xen",
                                             "hypervisor": hypervisor}}, "test")
    plugins = PluginHost(hypervisor)
    ctx = CallContext(config.with_plugin_defaults(plugins.defaults), plugins, api_version=api_version,
                      logger=logging.getLogger("cpi.test"))
    ctx.__dict__["client"] = client or FakeClient()
    return ctx


# -- CIDs and lookups --------------------------------------------------------------------------


def test_cid_forms() -> None:
    assert templates.parse_cid(TEMPLATE_ID) == templates.StemcellRef(TEMPLATE_ID, light=False)
    assert templates.parse_cid(f"{TEMPLATE_ID} light") == templates.StemcellRef(TEMPLATE_ID, light=True)
    assert templates.parse_cid("cpitemplate-4711").ref == "cpitemplate-4711"
    assert templates.parse_cid(" light").light is False  # nothing to reference
    assert templates.light_cid({"id": TEMPLATE_ID}) == f"{TEMPLATE_ID} light"


def test_own_templates_are_looked_up_with_filter_self_and_light_ones_with_executable() -> None:
    client = FakeClient([{"id": TEMPLATE_ID, "name": "ubuntu", "zoneid": ZONE_A, "isready": True}])
    ctx = make_ctx(client)
    assert templates.find_template(ctx, TEMPLATE_ID)["id"] == TEMPLATE_ID
    assert client.calls[-1][1]["templatefilter"] == "self"
    assert templates.find_template(ctx, "ubuntu light", ZONE_A)["id"] == TEMPLATE_ID
    assert client.calls[-1][1] == {"templatefilter": "executable", "zoneid": ZONE_A, "name": "ubuntu"}


def test_legacy_names_resolve_exactly() -> None:
    client = FakeClient([{"id": "a", "name": "cpitemplate-123456", "zoneid": ZONE_A},
                         {"id": "b", "name": "cpitemplate-123", "zoneid": ZONE_A}])
    ctx = make_ctx(client)
    assert templates.find_template(ctx, "cpitemplate-123")["id"] == "b"
    assert templates.find_template(ctx, "cpitemplate-12") is None


def test_another_zone_finds_the_stemcells_copy_by_tag() -> None:
    copy = {"id": "cccccccc-0000-0000-0000-000000000003", "name": "bosh-x", "zoneid": ZONE_B,
            "tags": [{"key": templates.STEMCELL_CID_TAG, "value": TEMPLATE_ID}]}
    client = FakeClient([{"id": TEMPLATE_ID, "name": "bosh-x", "zoneid": ZONE_A}, copy,
                         {"id": "dddddddd-0000-0000-0000-000000000004", "name": "other", "zoneid": ZONE_B}])
    ctx = make_ctx(client)
    assert templates.get_template(ctx, TEMPLATE_ID, ZONE_B)["id"] == copy["id"]
    assert templates.get_template(ctx, TEMPLATE_ID, ZONE_A)["id"] == TEMPLATE_ID
    with pytest.raises(CloudError, match=f"Stemcell '{TEMPLATE_ID} light' not found"):
        templates.get_template(ctx, f"{TEMPLATE_ID} light", ZONE_B)


# -- readiness ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "state"),
    [
        ({"isready": True, "status": "Download Complete"}, "ready"),
        ({"isready": "true"}, "ready"),
        ({"isready": False, "status": "45% Downloaded"}, "pending"),
        ({"isready": False, "status": "Installing Template"}, "pending"),
        ({"isready": False, "status": "", "state": "NotUploaded"}, "pending"),
        ({"isready": False, "status": "Upload in progress", "state": "UploadInProgress"}, "pending"),
        ({"isready": False, "status": "Failed post download script: File type mismatch"}, "error"),
        ({"isready": False, "status": "Upload Error"}, "error"),
        ({"isready": False, "status": "", "state": "UploadAbandoned"}, "error"),
        ({"isready": False, "status": "x", "downloaddetails": [{"downloadState": "DOWNLOAD_ERROR"}]}, "error"),
        ({"isready": False, "status": "Unable to download the template: connection refused"}, "error"),
    ],
)
def test_template_state(template: dict[str, Any], state: str) -> None:
    assert templates.template_state(template) == state


class _Timeline:
    """A fake clock whose sleeps advance it, and a template whose answers follow the clock."""

    def __init__(self, answers: list[tuple[float, dict[str, Any] | None]]) -> None:
        self.now, self.answers, self.sleeps = 0.0, answers, []

    def template(self) -> dict[str, Any] | None:
        current = None
        for at, answer in self.answers:
            if self.now >= at:
                current = answer
        return current

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def timeline(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    def install(answers: list[tuple[float, dict[str, Any] | None]]) -> tuple[CallContext, _Timeline]:
        line = _Timeline(answers)
        monkeypatch.setattr(templates, "_clock", lambda: line.now)
        monkeypatch.setattr(templates, "_sleep", line.sleep)
        client = FakeClient()
        client.list = lambda command, params=None, **_: [t] if (t := line.template()) else []  # type: ignore
        return make_ctx(client), line

    return install


def _tpl(**fields: Any) -> dict[str, Any]:
    return {"id": TEMPLATE_ID, "zoneid": ZONE_A, "zonename": "zone-xen", **fields}


def test_wait_returns_when_ready_polling_adaptively(timeline) -> None:
    ctx, line = timeline([(0, _tpl(isready=False, status="Installing Template")),
                          (30, _tpl(isready=True, status="Download Complete"))])
    assert templates.wait_template_ready(ctx, TEMPLATE_ID, ZONE_A, 600)["isready"] is True
    assert 30 <= line.now <= 30 + 5  # noticed within min(5 s, 25 %) of becoming ready
    assert min(line.sleeps) == templates.MIN_POLL and max(line.sleeps) <= templates.MAX_POLL
    assert len(line.sleeps) <= 22  # a tenth of the time waited made 39 reads for these 30 s


def test_wait_fails_fast_on_an_error_status(timeline) -> None:
    ctx, line = timeline([(0, _tpl(isready=False, status="Upload in progress")),
                          (3, _tpl(isready=False, status="Upload Error: checksum mismatch"))])
    with pytest.raises(CloudError, match="failed in zone zone-xen: Upload Error: checksum mismatch"):
        templates.wait_template_ready(ctx, TEMPLATE_ID, ZONE_A, 600)
    assert line.now < 10


def test_wait_times_out_with_the_last_status(timeline) -> None:
    ctx, line = timeline([(0, _tpl(isready=False, status="12% Downloaded"))])
    with pytest.raises(CloudError, match=r"Timed out after 120s .*last status: 12% Downloaded"):
        templates.wait_template_ready(ctx, TEMPLATE_ID, ZONE_A, 120)
    assert line.now == pytest.approx(120)


def test_wait_notices_a_template_that_disappears(timeline) -> None:
    ctx, _ = timeline([(0, _tpl(isready=False, status="Installing Template")), (4, None)])
    with pytest.raises(CloudError, match="disappeared"):
        templates.wait_template_ready(ctx, TEMPLATE_ID, ZONE_A, 600)


# -- names, properties, tags -------------------------------------------------------------------


def test_template_names_are_unique_traceable_and_bounded() -> None:
    first = stemcells.make_template_name("bosh-cloudstack-xen-ubuntu-jammy-go_agent", "1.181")
    second = stemcells.make_template_name("bosh-cloudstack-xen-ubuntu-jammy-go_agent", "1.181")
    assert first != second
    assert re.fullmatch(r"bosh-cloudstack-xen-ubuntu-jammy-go_agent-1\.181-[0-9a-f]{8}", first)
    assert stemcells.make_template_name("my stemcell/x", "2").startswith("bosh-my-stemcell-x-2-")
    assert len(stemcells.make_template_name("n" * 400, "v" * 10)) <= stemcells.MAX_NAME


def test_file_name_keeps_the_plugin_suffix() -> None:
    params = TemplateParams(format="VHD", file_suffix=".vhd.bz2", os_type="Other PV (64-bit)")
    assert stemcells.file_name("bosh-x", "1.2", params) == "bosh-x-1.2.vhd.bz2"


@pytest.mark.parametrize("hypervisor", ["xen", "kvm", "vmware"])
def test_each_plugins_own_stemcells_pass_the_checks(hypervisor: str) -> None:
    ctx = make_ctx(hypervisor=hypervisor)
    infrastructure, disk_format = {"xen": ("cloudstack", "vhdx"), "kvm": ("openstack", "qcow2"),
                                   "vmware": ("cloudstack", "ova")}[hypervisor]
    props = {"infrastructure": infrastructure, "hypervisor": hypervisor, "disk_format": disk_format,
             "architecture": "x86_64"}
    stemcells.check_stemcell(ctx, props)
    stemcells.check_disk_format(ctx, props, ctx.plugins.template_params(props, ctx.config))


def test_a_foreign_stemcell_is_refused_naming_every_problem() -> None:
    ctx = make_ctx()
    props = {"name": "bosh-aws-xen-hvm", "version": "9", "infrastructure": "aws", "hypervisor": "kvm",
             "architecture": "arm64"}
    with pytest.raises(CpiError) as info:
        stemcells.check_stemcell(ctx, props)
    message = str(info.value)
    assert message.startswith("Stemcell bosh-aws-xen-hvm/9 does not fit the 'xen' hypervisor plugin (XenServer")
    for part in ("infrastructure 'aws' (expected cloudstack)",
                 "hypervisor 'kvm' (expected xcp-ng or xen or xenserver)", "architecture 'arm64' (expected x86_64)"):
        assert part in message
    params = TemplateParams(format="VHD", file_suffix=".vhd.bz2", os_type="x")
    with pytest.raises(CpiError, match=r"disk_format 'qcow2' \(expected vhd or vhdx\)"):
        stemcells.check_disk_format(ctx, {"disk_format": "qcow2"}, params)


@pytest.mark.parametrize(
    "hypervisor, accepted, refused",
    [("vmware", {"vmware", "VMware", "esxi", "ESXi", "vsphere"}, {"kvm", "xen", "qemu"}),
     ("xen", {"xen", "XEN", "XenServer", "xcp-ng", "XCP-ng"}, {"esxi", "libvirt", "xcp"}),
     ("kvm", {"kvm", "KVM", "qemu", "QEMU", "libvirt"}, {"esxi", "xenserver", "kvm2"})],
)
def test_hypervisor_aliases_fit_only_their_cloudstack_type(hypervisor: str, accepted: set[str],
                                                           refused: set[str]) -> None:
    ctx = make_ctx(hypervisor=hypervisor)
    for name in accepted:
        stemcells.check_stemcell(ctx, {"hypervisor": name})
    for name in refused:
        with pytest.raises(CpiError, match=f"hypervisor '{name}'"):
            stemcells.check_stemcell(ctx, {"hypervisor": name})


def test_absent_properties_are_not_checked() -> None:
    stemcells.check_stemcell(make_ctx(), {})


def test_light_reference_keys() -> None:
    assert stemcells.light_reference({"light_template": "t"}) == "t"
    assert stemcells.light_reference({"template_id": TEMPLATE_ID}) == TEMPLATE_ID
    assert stemcells.light_reference({"template_name": "n"}) == "n"
    assert stemcells.light_reference({"light_template": ""}) is None
    assert stemcells.light_reference({}) is None


def test_v3_tags_only_from_api_v3() -> None:
    env = {"tags": {"team": "a", "index": 3}}
    assert stemcells._v3_tags(make_ctx(api_version=3), env) == {"team": "a", "index": "3"}
    assert stemcells._v3_tags(make_ctx(api_version=2), env) == {}
    assert stemcells._v3_tags(make_ctx(api_version=3), None) == {}
    assert stemcells._v3_tags(make_ctx(api_version=3), {"tags": "nope"}) == {}


def test_a_template_made_by_a_call_whose_answer_was_lost_is_cleaned_up(tmp_path) -> None:  # noqa: ANN001
    """getUploadParamsForTemplate is not retried (it creates); what it made is found by its unique name."""
    from cloudstack_simulator import Simulator
    from cpi_framework.cloudstack import TransportError

    image = tmp_path / "image"
    image.write_bytes(b"BZh9" + bytes(100))
    with Simulator() as sim:
        config = validate_config({"cloudstack": {"endpoint": sim.endpoint, "api_key": sim.api_key,
                                                 "secret_access_key": sim.secret_key, "default_zone": "zone-xen"}},
                                 "test")
        plugins = PluginHost("xen")
        ctx = CallContext(config.with_plugin_defaults(plugins.defaults), plugins, logger=logging.getLogger("cpi.t"))
        real_call = ctx.client.call

        def lossy(command: str, params: Any = None, **kw: Any) -> Any:
            answer = real_call(command, params, **kw)
            if command == "getUploadParamsForTemplate":
                raise TransportError(f"{command}: connection reset", command=command)
            return answer

        ctx.client.call = lossy  # type: ignore[method-assign]
        with pytest.raises(TransportError):
            stemcells.create_stemcell(ctx, str(image), {"name": "s", "version": "1", "hypervisor": "xen"})
        assert [t["name"] for t in sim.inventory()["templates"] if t["name"].startswith("bosh-s-1-")] == []
        assert sim.request_counts()["deleteTemplate"] == 1
        ctx.close()
