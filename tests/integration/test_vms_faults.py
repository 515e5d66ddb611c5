"""create_vm cleans up after a failure at every step: the simulator inventory is unchanged afterwards.

The create exercises every step (ephemeral disk, affinity group, tags, settings, start, vip,
load balancer), then one command is made to fail: a sync API error (``fail_next``) or a failed
async job (``fail_jobs``). The answer must be VMCreationFailed naming the command, not
retryable (the injected errors are not transient), and nothing may be left behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from vm_support import create_args, make_lb_rule

from cpi_framework.testing import contract, make_cpi_config
from cpi_framework.testing.checks import assert_no_leaks, cpi_objects, failed, ok

light_stemcell = contract.stemcell  # the contract suite's ``stemcell`` fixture


@pytest.fixture(scope="session")
def hypervisor() -> str:
    return "xen"


@pytest.fixture
def cpi_config(tmp_path: Path, simulator: Any, hypervisor: str) -> Path:
    return make_cpi_config(simulator, hypervisor, tmp_path, cpi={"anti_affinity_per_instance_group": True},
                           cloudstack={"timeouts": {"create_vm": 3}})


STEPS = [
    ("next", "listServiceOfferings"),
    ("next", "createAffinityGroup"),
    ("jobs", "createAffinityGroup"),
    ("next", "deployVirtualMachine"),
    ("jobs", "deployVirtualMachine"),
    ("next", "listDiskOfferings"),
    ("next", "createTags"),
    ("jobs", "createTags"),
    ("next", "listVolumes"),
    ("next", "updateVirtualMachine"),
    ("jobs", "startVirtualMachine"),
    ("next", "listPublicIpAddresses"),
    ("next", "enableStaticNat"),
    ("next", "listLoadBalancerRules"),
    ("jobs", "assignToLoadBalancerRule"),
]


@pytest.mark.parametrize(("kind", "command"), STEPS, ids=[f"{k}-{c}" for k, c in STEPS])
def test_failure_at_each_step_leaves_nothing(simulator: Any, cpi: Any, light_stemcell: str, kind: str,
                                             command: str) -> None:
    make_lb_rule(simulator)
    before = cpi_objects(simulator)
    text = f"Injected failure of {command}"
    if kind == "next":
        simulator.faults.fail_next(command, errorcode=431, errortext=text)
    else:
        simulator.faults.fail_jobs(command, errorcode=530, errortext=text)
    response = cpi("create_vm", *create_args(light_stemcell, simulator), api_version=2)
    error = failed(response, "Bosh::Clouds::VMCreationFailed")
    assert text in error["message"] and command in error["message"], error
    assert error["ok_to_retry"] is False
    assert "cleanup left" not in error["message"], error
    assert_no_leaks(simulator, before)


def test_full_create_then_delete_keeps_only_the_shared_affinity_group(simulator: Any, cpi: Any,
                                                                     light_stemcell: str) -> None:
    """The same full-featured create succeeds without faults; delete_vm removes all but the instance
    group's affinity group, which is shared by the group's VMs and outlives them (as in the Go CPI)."""
    make_lb_rule(simulator)
    before = cpi_objects(simulator)
    vm = ok(cpi("create_vm", *create_args(light_stemcell, simulator), api_version=2))[0]
    assert len(cpi_objects(simulator)["affinitygroups"]) == 1
    ok(cpi("delete_vm", vm, api_version=2))
    after = cpi_objects(simulator)
    assert len(after.pop("affinitygroups")) == 1
    before.pop("affinitygroups")
    assert after == before


def test_start_timeout_is_retryable_and_cleaned(simulator: Any, cpi: Any, light_stemcell: str) -> None:
    """A start job that never finishes within timeouts.create_vm: VMCreationFailed(ok_to_retry) and no VM left."""
    make_lb_rule(simulator)
    before = cpi_objects(simulator)
    simulator.faults.hang_jobs("startVirtualMachine")
    error = failed(cpi("create_vm", *create_args(light_stemcell, simulator), api_version=2),
                   "Bosh::Clouds::VMCreationFailed")
    assert error["ok_to_retry"] is True and "startVirtualMachine" in error["message"]
    assert_no_leaks(simulator, before)


def test_throttled_deploy_is_retryable(simulator: Any, cpi: Any, light_stemcell: str) -> None:
    """A capacity error text from the server marks the failure transient (errors.is_transient)."""
    before = cpi_objects(simulator)
    simulator.faults.fail_next("deployVirtualMachine", errorcode=533,
                               errortext="Unable to create a deployment for VM: insufficient capacity")
    error = failed(cpi("create_vm", "agent", light_stemcell, {"compute_offering": "small"},
                       {"default": {"type": "dynamic", "cloud_properties": {"name": "bosh-net"}}}, None, None,
                       api_version=2), "Bosh::Clouds::VMCreationFailed")
    assert error["ok_to_retry"] is True
    assert_no_leaks(simulator, before)
