"""Untagged leftovers of a killed create_vm are reported by name, never deleted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cpi_framework.testing import make_cpi_config


def orphans_json(config: Path) -> list[dict]:
    script = Path(sys.executable).parent / "cloudstack-cpi"
    proc = subprocess.run([str(script), "orphans", "--config", str(config), "--json", "--min-age", "0s"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    document = json.loads(proc.stdout)
    return document["findings"] if isinstance(document, dict) else document


def test_untagged_ephemeral_volume_of_a_gone_vm_is_reported_not_deleted(simulator, tmp_path):
    import requests

    from cloudstack_simulator.signing import sign  # the simulator's own signer: a plain API user

    zone = next(z for z in simulator.inventory()["zones"] if z["name"] == "zone-xen")
    offering = next(o for o in simulator.inventory()["diskofferings"] if o["name"] == "disk-small")
    gone_vm = "0b9f6c1e-5d2a-4c3b-9e8f-7a6b5c4d3e2f"
    params = {"command": "createVolume", "name": f"bosh-ephemeral-{gone_vm}", "zoneid": zone["id"],
              "diskofferingid": offering["id"], "apikey": simulator.api_key, "response": "json"}
    params["signature"] = sign(params, simulator.secret_key)
    assert requests.post(simulator.endpoint, data=params, timeout=10).status_code == 200
    simulator.wait_idle()
    volume = next(v for v in simulator.inventory()["volumes"] if v["name"] == f"bosh-ephemeral-{gone_vm}")

    config = make_cpi_config(simulator, "xen", tmp_path)
    found = [f for f in orphans_json(config) if f["id"] == volume["id"]]
    assert found and not found[0]["orphan"], found
    assert gone_vm in found[0]["reason"]


def test_tagged_ephemeral_disk_of_an_untagged_vm_is_kept(simulator, tmp_path):
    """create_vm tags the ephemeral disk before its VM: killed in between, the disk is tagged and
    attached to a VM with no CPI tag. Its VM exists, so the disk is reported and kept, not
    taken for the disk of a gone VM."""
    from cpi_framework.cloudstack import ClientSettings, CloudStackClient
    from cpi_framework.testing import run_cpi
    from cpi_framework.testing.checks import STEMCELL_CONTEXT, dynamic

    config = make_cpi_config(simulator, "xen", tmp_path)
    template = next(t["id"] for t in simulator.inventory()["templates"]
                    if t.get("zonename") == "zone-xen" and t["isready"])
    created = run_cpi(config, "create_vm", "agent-o", template, {"compute_offering": "small", "disk": 1024},
                      {"default": dynamic()}, [], {}, api_version=2, context=STEMCELL_CONTEXT)
    assert created.error is None, created.error
    vm_id = created.result[0]
    operator = CloudStackClient(ClientSettings(endpoint=simulator.endpoint, api_key=simulator.api_key,
                                               secret_key=simulator.secret_key))
    operator.call_async("deleteTags", {"resourcetype": "UserVm", "resourceids": vm_id})
    disk = next(v for v in simulator.inventory()["volumes"] if v.get("virtualmachineid") == vm_id
                and v["type"] == "DATADISK")
    found = [f for f in orphans_json(config) if f["id"] == disk["id"]]
    assert found and not found[0]["orphan"], found
    assert "no CPI tag" in found[0]["reason"]
