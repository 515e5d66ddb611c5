"""``check`` under a role that may not call one of the commands it reads (CloudStack error 432).

A diagnosis tool must survive every read being denied: it names what it could not check and the
role permission that would let it, never a traceback. Reads the CPI itself needs (zones,
offerings, networks, OS types) are failures, since deploys would fail the same way; reads only
``check`` makes are warnings.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from check_support import CLOUD_CONFIG

from cloudstack_simulator import Simulator
from cpi_framework.testing import cpi_command, make_cpi_config

ROLE = {"name": "CPI user", "type": "User"}
CPI_READS = {"listZones", "listServiceOfferings", "listDiskOfferings", "listNetworks", "listOsTypes"}
CHECK_READS = {"listCapabilities", "listHypervisors", "listSSHKeyPairs", "listApis", "listResourceLimits"}


@pytest.mark.parametrize("command", sorted(CPI_READS | CHECK_READS))
def test_every_denied_read_is_reported_with_the_permission_that_would_allow_it(tmp_path: Path, command: str):
    cloud = tmp_path / "cloud-config.yml"
    cloud.write_text(CLOUD_CONFIG)
    with Simulator({"role": {**ROLE, "denied_commands": [command]}}) as sim:
        config = make_cpi_config(sim, "xen", tmp_path, cloudstack={"default_key_name": "bosh-key"})
        proc = subprocess.run([*cpi_command(), "check", "--config", str(config), "--cloud-config", str(cloud),
                               "--json"], capture_output=True, text=True, timeout=120)
        assert sim.request_counts().get(command), f"check never read {command}: the test proves nothing"
    assert "Traceback" not in proc.stderr, proc.stderr
    report: dict[str, Any] = json.loads(proc.stdout)
    denied = [c for c in report["checks"] if command in c["message"] and "could not check" in c["message"]]
    assert denied, report
    for line in denied:
        assert "the account's role may not call" in line["message"]
        assert command in line["fix"] and "role" in line["fix"]
        assert line["status"] == ("fail" if command in CPI_READS else "warn")
    assert proc.returncode == (1 if command in CPI_READS else 0), report
