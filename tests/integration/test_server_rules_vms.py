"""create_vm/delete_vm against server rules the CPI once got wrong (issue 15, docs/simulator.md ledger).

Each test meets a rule the simulator enforces by default, as the CloudStack server does, through
the real ``cloudstack-cpi`` process: a compute offering with a fixed CPU speed, a network without
the UserData service, a static NAT released underneath ``delete_vm``, the user-data length limit.
Every failing path is checked for leftovers with an inventory diff.
"""

from __future__ import annotations

from typing import Any

import pytest

from cpi_framework.testing import contract
from cpi_framework.testing.checks import (
    STEMCELL_CONTEXT,
    assert_no_leaks,
    cpi_objects,
    dynamic,
    failed,
    ok,
    public_ip,
    vm_view,
)

stemcell = contract.stemcell  # one light stemcell per module, on the module's shared simulator


@pytest.fixture(scope="session")
def hypervisor() -> str:
    return "xen"  # the rules are the management server's, not the hypervisor's


def _create(shared_cpi: Any, stemcell: str, props: dict[str, Any], networks: dict[str, Any] | None = None,
            env: dict[str, Any] | None = None) -> Any:
    return shared_cpi("create_vm", "agent-rules", stemcell, props, networks or {"default": dynamic()}, None, env,
                      api_version=2, context=STEMCELL_CONTEXT)


def test_fixed_speed_custom_offering_gets_no_cpu_speed_detail(shared_simulator: Any, shared_cpi: Any,
                                                              stemcell: str) -> None:
    """UserVmManagerImpl.validateCustomParameters refuses cpuSpeed on an offering that fixes its speed."""
    before = cpi_objects(shared_simulator)
    vm = ok(_create(shared_cpi, stemcell, {"compute_offering": "custom-fixed-speed", "cpu": 2, "ram": 2048}))[0]
    view = vm_view(shared_simulator, vm)
    assert (view["cpunumber"], view["memory"], view["cpuspeed"]) == (2, 2048, 2000)
    deploy = [e for e in shared_simulator.request_log() if e["command"] == "deployVirtualMachine"][-1]
    assert not any("cpuspeed" in k.lower() for k in deploy["params"]), deploy["params"]
    ok(shared_cpi("delete_vm", vm, api_version=2))
    assert_no_leaks(shared_simulator, before)


def test_fully_custom_offering_still_gets_its_cpu_speed(shared_simulator: Any, shared_cpi: Any, stemcell: str) -> None:
    """The same rule requires cpuSpeed when the offering has none."""
    before = cpi_objects(shared_simulator)
    vm = ok(_create(shared_cpi, stemcell, {"compute_offering": "custom", "cpu": 1, "ram": 1024, "cpu_speed": 1500}))[0]
    assert vm_view(shared_simulator, vm)["cpuspeed"] == 1500
    ok(shared_cpi("delete_vm", vm, api_version=2))
    assert_no_leaks(shared_simulator, before)


def test_cpu_speed_against_a_fixed_speed_offering_is_refused_before_deploy(shared_simulator: Any, shared_cpi: Any,
                                                                          stemcell: str) -> None:
    before = cpi_objects(shared_simulator)
    shared_simulator.reset_log()
    error = failed(_create(shared_cpi, stemcell, {"compute_offering": "custom-fixed-speed", "cpu": 2, "ram": 2048,
                                                  "cpu_speed": 3000}), "Bosh::Clouds::CpiError")
    assert "cpu_speed = 3000" in error["message"] and "2000 MHz" in error["message"], error
    assert "deployVirtualMachine" not in shared_simulator.request_counts()
    assert_no_leaks(shared_simulator, before)


def test_no_user_data_service_fails_before_deploying_naming_the_network(shared_simulator: Any, shared_cpi: Any,
                                                                        stemcell: str) -> None:
    """Without the UserData service the server refuses the key-pair deploy and the user-data update."""
    before = cpi_objects(shared_simulator)
    shared_simulator.reset_log()
    error = failed(_create(shared_cpi, stemcell, {"compute_offering": "small"},
                           {"default": dynamic("bosh-nouserdata-net")}), "Bosh::Clouds::CpiError")
    assert "bosh-nouserdata-net" in error["message"] and "UserData" in error["message"], error
    counts = shared_simulator.request_counts()
    assert "deployVirtualMachine" not in counts and "createAffinityGroup" not in counts, counts
    assert_no_leaks(shared_simulator, before)


def test_a_second_network_with_user_data_is_enough(shared_simulator: Any, shared_cpi: Any, stemcell: str) -> None:
    """The CPI puts the network serving user data first (the default NIC), so the deploy is accepted."""
    before = cpi_objects(shared_simulator)
    networks = {"a": dynamic("bosh-nouserdata-net"), "b": dynamic("bosh-net", default=["dns", "gateway"])}
    vm = ok(_create(shared_cpi, stemcell, {"compute_offering": "small"}, networks))[0]
    assert shared_simulator.guest_view(vm)["user_data"]
    ok(shared_cpi("delete_vm", vm, api_version=2))
    assert_no_leaks(shared_simulator, before)


def test_static_nat_released_underneath_delete_vm_counts_as_done(shared_simulator: Any, shared_cpi: Any,
                                                                  stemcell: str, hypervisor: str) -> None:
    """RulesManagerImpl.disableStaticNat: a failed job "Specified IP address id is not associated with
    any vm Id" (errorcode 530, as a real 4.x server answered) once the NAT is gone."""
    before = cpi_objects(shared_simulator)
    vip = {"type": "vip", "ip": public_ip(shared_simulator, hypervisor)}
    networks = {"default": dynamic(default=["dns", "gateway"]), "public": vip}
    vm = ok(_create(shared_cpi, stemcell, {"compute_offering": "small"}, networks))[0]
    shared_simulator.faults.fail_jobs("disableStaticNat", errorcode=530,
                                      errortext="Specified IP address id is not associated with any vm Id")
    ok(shared_cpi("delete_vm", vm, api_version=2))
    assert vm not in cpi_objects(shared_simulator)["vms"]
    assert_no_leaks(shared_simulator, before)


BIG_ENV = {"bosh": {"group": "g"}, "trusted_certs": "A" * 30000}  # ~40 000 base64 characters of settings


def test_settings_above_the_user_data_limit_fail_before_anything_is_created(shared_simulator: Any, shared_cpi: Any,
                                                                            stemcell: str) -> None:
    """UserDataManagerImpl.validateUserData: POST user data above vm.userdata.max.length (32768) is refused."""
    before = cpi_objects(shared_simulator)
    shared_simulator.reset_log()
    error = failed(_create(shared_cpi, stemcell, {"compute_offering": "small", "disk": 1024}, env=BIG_ENV),
                   "Bosh::Clouds::CpiError")
    assert "vm.userdata.max.length" in error["message"] and "32768" in error["message"], error
    assert "cloudstack.user_data_max_length" in error["message"], error
    assert "deployVirtualMachine" not in shared_simulator.request_counts()
    assert_no_leaks(shared_simulator, before)
