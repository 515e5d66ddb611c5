"""Contract 6.F, errors: missing objects, bad input, transient failures, unimplemented methods.

Failures must be typed, name what was wrong, and leave nothing behind in the shared simulator.
"""

from __future__ import annotations

from typing import Any

from ..checks import Cpi, assert_no_leaks, cpi_objects, dynamic, failed, ok

__all__ = [
    "test_missing_vms",
    "test_bad_network_fails_cleanly",
    "test_impossible_offering_or_zone",
    "test_transient_failure_is_retryable_and_leaves_nothing",
    "test_unimplemented_methods",
]


def test_missing_vms(shared_cpi: Cpi) -> None:
    """6.F 45, 48: unknown, malformed and earlier CPIs' CIDs: delete_vm → VMNotFound, has_vm → false."""
    cpi = shared_cpi
    for cid in ("6b1e3a42-0000-4000-8000-000000000000", "cpivm-00000000-0000-0000-0000-000000000000", "garbage"):
        failed(cpi("delete_vm", cid, api_version=2), "Bosh::Clouds::VMNotFound")
        assert ok(cpi("has_vm", cid, api_version=2)) is False
    failed(cpi("reboot_vm", "6b1e3a42-0000-4000-8000-000000000000", api_version=2), "Bosh::Clouds::VMNotFound")


def test_bad_network_fails_cleanly(shared_simulator: Any, shared_cpi: Cpi, shared_stemcell: str) -> None:
    """6.F 49: an unknown network → VMCreationFailed naming it, not retryable, nothing left."""
    before = cpi_objects(shared_simulator)
    response = shared_cpi("create_vm", "agent", shared_stemcell, {"compute_offering": "small", "disk": 1024},
                          {"default": dynamic("no-such-net")}, None, None, api_version=2)
    error = failed(response, "Bosh::Clouds::VMCreationFailed")
    assert "no-such-net" in error["message"] and error["ok_to_retry"] is False
    assert_no_leaks(shared_simulator, before)


def test_impossible_offering_or_zone(shared_simulator: Any, shared_cpi: Cpi, shared_stemcell: str) -> None:
    """6.F 50: an impossible flavour or AZ → an error naming the key and value, with a log, nothing left."""
    before = cpi_objects(shared_simulator)
    for props, needle in (({"compute_offering": "no-such-offering"}, "no-such-offering"),
                          ({"compute_offering": "small", "zone": "no-such-zone"}, "no-such-zone")):
        response = shared_cpi("create_vm", "agent", shared_stemcell, props, {"default": dynamic()}, None, None,
                              api_version=2)
        error = failed(response, "Bosh::Clouds::VMCreationFailed")
        assert needle in error["message"] and response.log
    assert_no_leaks(shared_simulator, before)


def test_transient_failure_is_retryable_and_leaves_nothing(shared_simulator: Any, shared_cpi: Cpi,
                                                           shared_stemcell: str) -> None:
    """6.F 51: a capacity failure of the deploy job → VMCreationFailed(ok_to_retry) after cleanup; the
    identical retry succeeds and leaves exactly one VM. (The kit clears the fault after the test.)"""
    sim, cpi = shared_simulator, shared_cpi
    before = cpi_objects(sim)
    sim.faults.fail_jobs("deployVirtualMachine", errorcode=533,
                         errortext="Insufficient capacity to deploy: no host has enough memory")
    args = ("agent-retry", shared_stemcell, {"compute_offering": "small", "disk": 1024}, {"default": dynamic()},
            None, None)
    error = failed(cpi("create_vm", *args, api_version=2), "Bosh::Clouds::VMCreationFailed")
    assert error["ok_to_retry"] is True and "deployVirtualMachine" in error["message"]
    assert_no_leaks(sim, before)
    vm = ok(cpi("create_vm", *args, api_version=2))[0]
    assert cpi_objects(sim)["vms"] - before["vms"] == {vm}
    ok(cpi("delete_vm", vm))
    assert_no_leaks(sim, before)


def test_unimplemented_methods(shared_cpi: Cpi) -> None:
    """6.F 52: optional methods this CPI does not offer answer exactly Bosh::Clouds::NotImplemented."""
    failed(shared_cpi("current_vm_id", api_version=2), "Bosh::Clouds::NotImplemented")
    failed(shared_cpi("create_network", {"type": "manual"}, api_version=2), "Bosh::Clouds::NotImplemented")
