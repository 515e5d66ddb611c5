"""``cloudstack-cpi demo`` end to end through the real command, with and without an injected fault."""

from __future__ import annotations

import os
import subprocess

import pytest

from cpi_framework.testing import cpi_command

STEPS = ["info", "create_stemcell", "create_vm", "has_vm", "set_vm_metadata", "create_disk", "attach_disk",
         "snapshot_disk", "delete_snapshot", "detach_disk", "delete_vm", "delete_disk", "delete_stemcell"]


def demo(*args: str, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("CPI_DEMO_FAULT", None)
    if fault:
        env["CPI_DEMO_FAULT"] = fault
    return subprocess.run([*cpi_command(), "demo", *args], capture_output=True, text=True, timeout=300, env=env)


def outcomes(stdout: str) -> dict[str, str]:
    """The summary table's METHOD → OUTCOME."""
    table = stdout[stdout.index("#   METHOD"):].splitlines()[1:]
    rows = [line.split() for line in table if line[:1].isdigit()]
    rows = [row for row in rows if len(row) >= 3 and row[1].islower()]
    return {row[1]: row[2] for row in rows}


def test_full_lifecycle_succeeds_and_leaves_nothing():
    proc = demo()
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert outcomes(proc.stdout) == {step: "ok" for step in STEPS}
    assert "nothing leaked" in proc.stdout and "every step succeeded" in proc.stdout
    # what a newcomer is meant to see: requests per step, the guest's view, no secret
    assert "CloudStack request(s): " in proc.stdout and "deployVirtualMachine" in proc.stdout
    assert "inside the VM (after create_vm)" in proc.stdout and "device /dev/xvd" in proc.stdout
    assert "user data (excerpt): " in proc.stdout and "<redacted>" in proc.stdout
    assert '"networks":{"default":{"type":"dynamic"' in proc.stdout  # the agent's shape, not a flattened key
    assert "networks.default" not in proc.stdout
    assert "/cpi-demo-" not in proc.stdout  # no path of a config that is gone when the demo ends
    assert "demo-nats-password" not in proc.stdout + proc.stderr
    assert "sim-secret" not in proc.stdout + proc.stderr


@pytest.mark.skipif(os.environ.get("CPI_HEAVY_TESTS") != "1", reason="kvm/vmware demo runs only with CPI_HEAVY_TESTS=1")
@pytest.mark.parametrize("hypervisor, device", [("kvm", "/dev/vd"), ("vmware", "/dev/sd")])
def test_other_hypervisors(hypervisor, device):
    proc = demo("--hypervisor", hypervisor)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert set(outcomes(proc.stdout).values()) == {"ok"} and f"device {device}" in proc.stdout


HEAVY = os.environ.get("CPI_HEAVY_TESTS") == "1"
OLDEST_AND_NEWEST = ["4.5", "4.20"]


@pytest.mark.parametrize("profile", ["4.5", "4.7", "4.9", "4.11", "4.15", "4.18", "4.20"])
def test_demo_passes_on_every_cloudstack_generation(profile):
    """Only the simulator's cloudstack_version changes; the demo's CPI config is the same. The oldest and
    the newest run in the fast tier, the rest with CPI_HEAVY_TESTS=1 (CI's version matrix covers them
    through the contract suite)."""
    if profile not in OLDEST_AND_NEWEST and not HEAVY:
        pytest.skip("middle generations run with CPI_HEAVY_TESTS=1")
    proc = demo("--simulator-config", f"cloudstack-{profile}.yml")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert outcomes(proc.stdout) == {step: "ok" for step in STEPS}
    assert f"CloudStack {profile}." in proc.stdout and "nothing leaked" in proc.stdout
    stemcell = proc.stdout[proc.stdout.index("2. create_stemcell"):proc.stdout.index("3. create_vm")]
    assert ("registerTemplate" in stemcell) == (profile == "4.5")


def test_injected_fault_stops_the_run_and_fails():
    proc = demo(fault="createSnapshot")
    assert proc.returncode == 1
    result = outcomes(proc.stdout)
    assert result["attach_disk"] == "ok" and result["snapshot_disk"] == "FAILED"
    assert result["delete_vm"] == "skipped"
    assert "Fault injected by cloudstack-cpi demo" in proc.stdout
    assert "left in the cloud by the CPI" in proc.stdout  # the skipped deletes never ran


def test_keep_going_runs_the_rest_and_still_fails():
    proc = demo("--keep-going", "--inject-fault", "createSnapshot")
    assert proc.returncode == 1
    result = outcomes(proc.stdout)
    assert result["snapshot_disk"] == "FAILED" and result["delete_snapshot"] == "skipped"
    assert all(result[s] == "ok" for s in ("detach_disk", "delete_vm", "delete_disk", "delete_stemcell"))
    assert "nothing leaked" in proc.stdout


def test_inject_fault_is_hidden_from_help():
    proc = demo("--help")
    assert proc.returncode == 0 and "--keep-going" in proc.stdout and "inject" not in proc.stdout
