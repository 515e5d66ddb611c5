"""``cloudstack-cpi orphans`` after a ``create_vm`` process was killed mid-call."""

from __future__ import annotations

import io
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from cpi_framework.testing import DIRECTOR_UUID, cpi_command, make_cpi_config, run_cpi
from cpi_framework.tools import orphans

NETWORKS = {"default": {"type": "dynamic", "cloud_properties": {"name": "bosh-net"}, "default": ["dns", "gateway"]}}
VM_TYPE = {"compute_offering": "small", "disk": 2048}


def template_id(simulator: Any, name: str = "bosh-stemcell-xen") -> str:
    return next(t["id"] for t in simulator.inventory()["templates"] if t["name"] == name)


def kill_create_vm_during(simulator: Any, config: Path, command: str) -> None:
    """Start the real CPI's create_vm, and kill it once it has sent ``command`` (whose job hangs)."""
    simulator.faults.hang_jobs(command)
    before = sum(1 for r in simulator.request_log() if r["command"] == command)
    request = {"method": "create_vm", "arguments": ["agent-killed", template_id(simulator), VM_TYPE, NETWORKS, [], {}],
               "context": {"director_uuid": DIRECTOR_UUID}}
    proc = subprocess.Popen([*cpi_command(), "--config", str(config)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(request).encode())
        proc.stdin.close()
        deadline = time.monotonic() + 60
        while sum(1 for r in simulator.request_log() if r["command"] == command) == before:
            assert proc.poll() is None, f"create_vm ended before {command}: {proc.stdout.read()!r}"  # type: ignore
            assert time.monotonic() < deadline, f"create_vm never sent {command}"
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait(timeout=30)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def scan(capsys: pytest.CaptureFixture[str], config: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    code = orphans.main(["--config", str(config), "--json", *extra])
    return code, json.loads(capsys.readouterr().out)


def by_kind(report: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for finding in report["findings"]:
        out.setdefault(finding["kind"], []).append(finding)
    return out


@pytest.fixture
def config(simulator, tmp_path):
    return make_cpi_config(simulator, "xen", tmp_path)


def test_killed_create_vm_leaves_orphans_that_delete_removes(capsys, simulator, config):
    # a healthy VM with metadata and a detached persistent disk must survive everything below
    good = run_cpi(config, "create_vm", "agent-good", template_id(simulator), VM_TYPE, NETWORKS, [], {})
    assert good.ok, good.error
    meta = run_cpi(config, "set_vm_metadata", good.result, {"director": "bosh", "deployment": "cf", "job": "router"})
    assert meta.ok, meta.error
    disk = run_cpi(config, "create_disk", 1024, {}, None)
    assert disk.ok, disk.error

    kill_create_vm_during(simulator, config, "startVirtualMachine")
    simulator.faults.clear()

    code, report = scan(capsys, config, "--min-age", "0")
    assert code == 0
    found = by_kind(report)
    (vm,) = found["vm"]
    assert vm["orphan"] and "never got BOSH metadata" in vm["reason"] and vm["id"] != good.result
    assert vm["director_uuid"] == DIRECTOR_UUID
    volumes = {f["role"]: f for f in found["volume"]}
    assert volumes["ephemeral-disk"]["orphan"] and vm["id"] in volumes["ephemeral-disk"]["reason"]
    persistent = volumes["persistent-disk"]
    assert persistent["id"] == disk.result and not persistent["orphan"]
    assert "--include-persistent-disks" in persistent["note"]
    assert all(f["result"] == "" for f in report["findings"])  # listing deletes nothing
    assert len(simulator.inventory()["virtualmachines"]) == 2

    code, report = scan(capsys, config, "--min-age", "0", "--delete")
    assert code == 0, report
    results = {f["id"]: f["result"] for f in report["findings"]}
    assert results[vm["id"]] == "deleted"
    assert results[volumes["ephemeral-disk"]["id"]].startswith(("deleted", "already gone"))
    assert results[disk.result] == ""  # never a persistent disk without the flag
    inventory = simulator.inventory()
    live_vms = [v["id"] for v in inventory["virtualmachines"] if v["state"] not in {"Destroyed", "Expunging"}]
    assert live_vms == [good.result]
    volume_ids = {v["id"] for v in inventory["volumes"]}
    assert disk.result in volume_ids and volumes["ephemeral-disk"]["id"] not in volume_ids
    assert run_cpi(config, "has_vm", good.result).result is True

    code, report = scan(capsys, config, "--min-age", "0", "--delete", "--include-persistent-disks")
    assert code == 0
    assert [(f["id"], f["result"]) for f in report["findings"]] == [(disk.result, "deleted")]
    assert run_cpi(config, "has_disk", disk.result).result is False
    assert run_cpi(config, "has_vm", good.result).result is True  # the good VM's ephemeral disk was attached


def test_min_age_protects_fresh_resources(capsys, simulator, config):
    kill_create_vm_during(simulator, config, "startVirtualMachine")
    simulator.faults.clear()
    code, report = scan(capsys, config, "--delete")  # default --min-age 1h
    assert code == 0
    assert report["findings"] and not any(f["orphan"] for f in report["findings"])
    assert all("younger than --min-age" in f["note"] for f in report["findings"])
    assert all(f["result"] == "" for f in report["findings"])


def test_kill_during_deploy_leaves_an_untagged_vm_reported_not_deleted(capsys, simulator, config):
    # the VM and its ephemeral disk are tagged while the VM deploys (two createTags jobs, the
    # disk's first): keep both untagged here
    simulator.faults.hang_jobs("createTags", 2)
    kill_create_vm_during(simulator, config, "deployVirtualMachine")
    simulator.faults.clear()
    code, report = scan(capsys, config, "--min-age", "0", "--delete")
    assert code == 0
    (vm,) = by_kind(report)["vm"]
    assert not vm["orphan"] and "untagged" in vm["reason"] and vm["result"] == ""


def test_other_directors_and_untagged_resources_are_never_touched(capsys, simulator, config, tmp_path):
    other = run_cpi(config, "create_disk", 1024, {}, None, context={"director_uuid": "other-director"})
    assert other.ok, other.error
    code, report = scan(capsys, config, "--min-age", "0", "--include-persistent-disks", "--delete",
                        "--director-uuid", DIRECTOR_UUID)
    assert code == 0 and report["findings"] == []
    assert run_cpi(config, "has_disk", other.result).result is True


def test_human_output_through_the_real_command(simulator, config):
    kill_create_vm_during(simulator, config, "startVirtualMachine")
    simulator.faults.clear()
    proc = subprocess.run([*cpi_command(), "orphans", "--config", str(config), "--min-age", "0s"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "KIND" in proc.stdout and "never got BOSH metadata" in proc.stdout
    assert "run again with --delete" in proc.stdout
    assert simulator.secret_key not in proc.stdout + proc.stderr


@pytest.mark.parametrize("text, seconds", [("90", 90), ("90s", 90), ("30m", 1800), ("1h", 3600), ("2d", 172800)])
def test_min_age_durations(text, seconds):
    from cpi_framework.tools.common import parse_duration

    assert parse_duration(text) == seconds


def test_snapshot_of_a_deleted_disk(capsys, simulator, config):
    vm = run_cpi(config, "create_vm", "agent-snap", template_id(simulator), VM_TYPE, NETWORKS, [], {})
    disk = run_cpi(config, "create_disk", 1024, {}, vm.result)
    assert vm.ok and disk.ok, (vm.error, disk.error)
    for method, args in (("set_vm_metadata", (vm.result, {"director": "bosh", "deployment": "d"})),
                         ("attach_disk", (vm.result, disk.result))):
        assert run_cpi(config, method, *args).ok
    snapshot = run_cpi(config, "snapshot_disk", disk.result, {"deployment": "d"})
    assert snapshot.ok, snapshot.error
    code, report = scan(capsys, config, "--min-age", "0")
    assert report["findings"] == []  # everything belongs to something
    for method, args in (("detach_disk", (vm.result, disk.result)), ("delete_disk", (disk.result,))):
        assert run_cpi(config, method, *args).ok

    code, report = scan(capsys, config, "--min-age", "0", "--delete")
    (found,) = report["findings"]
    assert found["kind"] == "snapshot" and found["id"] == snapshot.result
    assert "deleted volume" in found["reason"] and found["result"] == "deleted"
    assert code == 0 and simulator.inventory()["snapshots"] == []


def test_abandoned_stemcell_upload(capsys, simulator, tmp_path):
    from cpi_framework.services import catalog
    from cpi_framework.services.tags import cpi_tags, create_tags
    from cpi_framework.tools.common import tool_context

    config = make_cpi_config(simulator, "xen", tmp_path, cloudstack={"stemcell_publish_timeout": 0.001})
    ctx = tool_context(str(config), "test", director_uuid=DIRECTOR_UUID)
    try:  # the first steps of create_stemcell, then the process "dies" before uploading
        zone, os_type = catalog.zone(ctx), catalog.os_type(ctx, "Other PV (64-bit)")
        answer = ctx.client.call("getUploadParamsForTemplate", {
            "name": "bosh-abandoned", "displaytext": "bosh-abandoned", "format": "VHD", "hypervisor": "XenServer",
            "zoneid": zone["id"], "ostypeid": os_type["id"]})
        template = str(answer.get("getuploadparams", answer)["id"])
        create_tags(ctx, "Template", [template], cpi_tags(ctx, "stemcell"))
    finally:
        ctx.close()

    code, report = scan(capsys, make_cpi_config(simulator, "xen", tmp_path), "--min-age", "0")
    (kept,) = report["findings"]
    assert kept["id"] == template and not kept["orphan"] and "stemcell_publish_timeout" in kept["note"]

    code, report = scan(capsys, config, "--min-age", "0", "--delete")
    (found,) = report["findings"]
    assert found["orphan"] and "never became ready" in found["reason"] and found["result"] == "deleted"
    assert template not in {t["id"] for t in simulator.inventory()["templates"]}
    assert code == 0


def test_delete_refuses_to_choose_between_directors(capsys, simulator, config):
    for director in ("director-a", "director-b"):
        assert run_cpi(config, "create_disk", 1024, {}, None, context={"director_uuid": director}).ok
    code = orphans.main(["--config", str(config), "--min-age", "0", "--include-persistent-disks", "--delete"])
    assert code == 2
    assert "pass --director-uuid" in capsys.readouterr().err
    assert len(simulator.inventory()["volumes"]) == 2  # nothing deleted
    code, report = scan(capsys, config, "--min-age", "0", "--include-persistent-disks", "--delete",
                        "--director-uuid", "director-a")
    assert code == 0 and [f["result"] for f in report["findings"]] == ["deleted"]
    assert len(simulator.inventory()["volumes"]) == 1


def test_invalid_config_is_a_usage_error(capsys, tmp_path):
    path = tmp_path / "cpi.json"
    path.write_text(json.dumps({"cloudstack": {"endpoint": "http://127.0.0.1:9/client/api"}}))
    assert orphans.main(["--config", str(path)]) == 2
    assert "cloudstack.api_key: missing required key" in capsys.readouterr().err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_table_cuts_cells_on_a_terminal_only():
    """issue 19 item 13: into a file or pipe the long ids, director uuids and reasons stay whole."""
    director = "d6b1f6de-9f4a-4d6e-8d57-3f7b5a2c9e11"
    reason = "no BOSH metadata: set_vm_metadata never ran, so no director knows this VM " * 2
    finding = orphans.Finding(kind="vm", id="6f1c0e52-0000-4000-8000-000000000001", name="vm-x", state="Running",
                              role="", director=director, age=7200.0, reason=reason.strip(), orphan=True)
    into_file = io.StringIO()
    orphans.render([finding], deleting=False, stream=into_file)
    assert director in into_file.getvalue() and reason.strip() in into_file.getvalue()
    assert "…" not in into_file.getvalue()
    on_terminal = _Terminal()
    orphans.render([finding], deleting=False, stream=on_terminal)
    assert director not in on_terminal.getvalue() and "…" in on_terminal.getvalue()
