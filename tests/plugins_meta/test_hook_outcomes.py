"""For every hook: a plugin overriding only that hook changes what the real CPI process does.

Each test selects one plugin of the fake distribution ``cpi-meta-hooks`` (``data/hooks``,
every plugin ``extends: xen``) with ``cloudstack.hypervisor`` and compares the outcome, in
the simulator, with plain xen. ``test_plugin_contract.py`` checks that every hookspec has a
``test_hook_<name>`` here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from meta_dists import HOOKS_DIST

from cpi_framework.testing import make_cpi_config

STEMCELL_PROPS = {"name": "bosh-cloudstack-xen-ubuntu-jammy-go_agent", "version": "1.1", "infrastructure": "cloudstack",
                  "hypervisor": "xen", "architecture": "x86_64", "disk_format": "vhdx", "os_type": "linux"}
NETWORKS = {"default": {"type": "dynamic", "cloud_properties": {"name": "bosh-net"}, "dns": ["10.0.1.2"],
                        "default": ["dns", "gateway"]}}
VM_TYPE = {"compute_offering": "small"}


@pytest.fixture
def meta(simulator: Any, tmp_path: Path, with_dists: Any):
    """``meta(name)``: a config selecting plugin ``name`` in the simulator's XenServer zone."""
    with_dists(HOOKS_DIST)

    def config(name: str, **overrides: Any) -> Path:
        cloudstack = {"default_zone": "zone-xen", **overrides.pop("cloudstack", {})}
        return make_cpi_config(simulator, name, tmp_path, cloudstack=cloudstack, **overrides)

    return config


def ready_template(simulator: Any) -> str:
    return next(t["id"] for t in simulator.inventory()["templates"] if t["name"] == "bosh-stemcell-xen")


def create_vm(cpi: Any, simulator: Any, config: Path, vm_type: dict[str, Any] | None = None) -> Any:
    response = cpi("create_vm", "agent-meta", ready_template(simulator), vm_type or VM_TYPE, NETWORKS, [], {},
                   api_version=2, config=config)
    assert response.ok, response.error
    return response.result[0]


def user_data(simulator: Any, vm_cid: str) -> dict[str, Any]:
    return json.loads(simulator.guest_view(vm_cid)["user_data"])


def test_hook_cpi_hypervisor(cpi: Any, meta: Any) -> None:
    assert cpi("info", config=meta("xen")).result["stemcell_formats"] == ["cloudstack-vhdx"]
    assert cpi("info", config=meta("meta-hypervisor")).result["stemcell_formats"] == ["meta-vhdx", "cloudstack-vhdx"]


def test_hook_cpi_template_params(cpi: Any, meta: Any, simulator: Any, tmp_path: Path) -> None:
    image = tmp_path / "image"
    image.write_bytes(b"not really a vhd.bz2, the simulator does not look" * 64)

    def template_of(name: str) -> dict[str, Any]:
        response = cpi("create_stemcell", str(image), STEMCELL_PROPS, config=meta(name))
        assert response.ok, response.error
        return next(t for t in simulator.inventory()["templates"] if t["id"] == response.result)

    plain, changed = template_of("xen"), template_of("meta-template-params")
    assert (plain["ostypename"], plain["requireshvm"]) == ("Other PV (64-bit)", False)
    assert (changed["ostypename"], changed["requireshvm"]) == ("Ubuntu 22.04 LTS", True)


def test_hook_cpi_disk_hint(cpi: Any, meta: Any, simulator: Any) -> None:
    config = meta("meta-disk-hint")
    vm_cid = create_vm(cpi, simulator, config)
    disk_cid = cpi("create_disk", 1024, {}, vm_cid, api_version=2, config=config).result
    hint = cpi("attach_disk", vm_cid, disk_cid, api_version=2, config=config)
    assert hint.ok, hint.error
    deviceid = next(d["deviceid"] for d in simulator.guest_view(vm_cid)["disks"] if d["volume_id"] == disk_cid)
    assert hint.result == {"path": f"/dev/meta{deviceid}", "id": f"meta-{disk_cid}"}
    # only persistent disks were overridden: the ephemeral and system hints are still xen's
    assert user_data(simulator, vm_cid)["disks"]["system"] == "/dev/xvda"


def test_hook_cpi_agent_settings(cpi: Any, meta: Any, simulator: Any) -> None:
    plain = user_data(simulator, create_vm(cpi, simulator, meta("xen")))
    changed = user_data(simulator, create_vm(cpi, simulator, meta("meta-agent-settings")))
    assert plain["networks"]["default"].get("preconfigured") is not True
    assert changed["networks"]["default"]["preconfigured"] is True
    assert changed["env"]["bosh"]["meta_context_api_version"] == 2


def test_hook_cpi_user_data(cpi: Any, meta: Any, simulator: Any) -> None:
    plain = user_data(simulator, create_vm(cpi, simulator, meta("xen")))
    changed = user_data(simulator, create_vm(cpi, simulator, meta("meta-user-data")))
    assert plain["agent_id"] == "agent-meta" and "meta_wrapped" not in plain
    assert list(changed) == ["meta_wrapped"] and changed["meta_wrapped"]["agent_id"] == "agent-meta"


def deploy_details(simulator: Any) -> dict[str, str]:
    """``details`` of the last deployVirtualMachine, in either flattened form (``details[0].k=v``
    or ``details[0].key=k`` + ``details[0].value=v``)."""
    params = [r for r in simulator.request_log() if r["command"] == "deployVirtualMachine"][-1]["params"]
    flat = {k.split(".", 1)[1]: v for k, v in params.items() if k.startswith("details[")}
    pairs = {params[k]: params[k.replace(".key", ".value")] for k in params
             if k.startswith("details[") and k.endswith(".key")}
    return {**{k: v for k, v in flat.items() if k not in ("key", "value")}, **pairs}


def test_hook_cpi_deploy_params(cpi: Any, meta: Any, simulator: Any) -> None:
    create_vm(cpi, simulator, meta("xen"))
    assert "metaDetail" not in deploy_details(simulator)
    create_vm(cpi, simulator, meta("meta-deploy-params"))
    assert deploy_details(simulator)["metaDetail"] == "from-plugin"


def test_hook_cpi_vm_type_schema(cpi: Any, meta: Any, simulator: Any) -> None:
    template = ready_template(simulator)
    bad = {**VM_TYPE, "meta_cores_per_socket": "many"}
    # plain xen does not know the key: tolerated (with a warning), as any unknown VM key
    tolerated = cpi("create_vm", "a", template, bad, NETWORKS, [], {}, api_version=2, config=meta("xen"))
    assert tolerated.ok and "meta_cores_per_socket" in tolerated.log
    refused = cpi("create_vm", "a", template, bad, NETWORKS, [], {}, api_version=2, config=meta("meta-vm-type-schema"))
    assert not refused.ok and "meta_cores_per_socket" in refused.error["message"]
    good = {**VM_TYPE, "meta_cores_per_socket": 2}
    accepted = cpi("create_vm", "a", template, good, NETWORKS, [], {}, api_version=2,
                   config=meta("meta-vm-type-schema"))
    assert accepted.ok, accepted.error
    assert "meta_cores_per_socket" not in accepted.log  # known now: no unknown-key warning


def test_hook_cpi_attach_error_is_transient(cpi: Any, meta: Any, simulator: Any) -> None:
    def attach_with_one_glitch(name: str) -> Any:
        config = meta(name, cloudstack={"timeouts": {"default": 30, "attach_volume": 30}})
        vm_cid = create_vm(cpi, simulator, config)
        disk_cid = cpi("create_disk", 1024, {}, vm_cid, api_version=2, config=config).result
        simulator.faults.fail_jobs("attachVolume", n=1, errortext="Failed to attach volume: meta hot-plug glitch")
        response = cpi("attach_disk", vm_cid, disk_cid, api_version=2, config=config)
        simulator.faults.clear()
        return response

    assert not attach_with_one_glitch("xen").ok  # xen does not know this error: no retry
    retried = attach_with_one_glitch("meta-attach-error")
    assert retried.ok, retried.error
    assert retried.result["path"].startswith("/dev/xvd")


def test_hook_cpi_guest_warnings(meta: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from cpi_framework.tools import check

    def guest_lines(name: str) -> list[dict[str, Any]]:
        check.main(["--config", str(meta(name)), "--json"])
        return [c for c in json.loads(capsys.readouterr().out)["checks"] if c["check"] == "guest"]

    assert guest_lines("xen") == []
    (line,) = guest_lines("meta-guest-warnings")
    assert line["status"] == "warn" and line["message"].startswith("meta guest: OS type Other PV (64-bit)")
    assert line["fix"] == "meta fix"
