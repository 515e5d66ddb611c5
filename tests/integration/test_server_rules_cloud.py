"""The CPI on clouds whose settings differ from the defaults (issue 15; ledger in docs/simulator.md).

Each test starts a simulator configured like such a cloud and runs the real ``cloudstack-cpi``:
a lowered ``default.page.size``, an account that is not a root admin, an older server without a
command.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cloudstack_simulator import Simulator
from cpi_framework.testing import make_cpi_config, run_cpi
from cpi_framework.testing.checks import (
    STEMCELL_CONTEXT,
    assert_no_leaks,
    cpi_objects,
    dynamic,
    failed,
    free_ip,
    ok,
)

Cloud = Callable[..., tuple[Simulator, Callable[..., Any]]]


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Cloud]:
    """``cloud(sim_config, **cpi_overrides) -> (simulator, cpi)`` for one xen-zone CPI on that cloud."""
    opened: list[Simulator] = []

    def make(sim_config: dict[str, Any], **overrides: Any) -> tuple[Simulator, Callable[..., Any]]:
        sim = Simulator(sim_config).start()
        opened.append(sim)
        directory = tmp_path / f"cloud-{len(opened)}"
        directory.mkdir()
        config = make_cpi_config(sim, "xen", directory, **overrides)

        def cpi(method: str, *args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("api_version", 2)
            return run_cpi(config, method, *args, **kwargs)

        return sim, cpi

    yield make
    for sim in opened:
        sim.close()


def _light_stemcell(cpi: Callable[..., Any]) -> str:
    props = {"name": "bosh-cloudstack-xen", "version": "1.0", "infrastructure": "cloudstack", "hypervisor": "xen",
             "architecture": "x86_64", "os_type": "linux", "light_template": "bosh-stemcell-xen"}
    return str(ok(cpi("create_stemcell", "/nonexistent/image", props)))


def test_lowered_default_page_size(cloud: Cloud) -> None:
    """BaseListCmd refuses a pagesize above default.page.size; the CPI's first request sends none and
    pages with the size the server answers with (2 here, below the 5 service offerings)."""
    sim, cpi = cloud({"api": {"page_size": 2}})
    before = cpi_objects(sim)
    props = ok(cpi("calculate_vm_cloud_properties", {"cpu": 2, "ram": 2048, "ephemeral_disk_size": 1024}))
    assert props["compute_offering"] == "medium"  # chosen among all 5 offerings, over 3 pages
    stemcell = _light_stemcell(cpi)
    vm = ok(cpi("create_vm", "agent-pages", stemcell, {"compute_offering": "small", "disk": 1024},
                {"default": dynamic()}, None, None, context=STEMCELL_CONTEXT))[0]
    assert ok(cpi("has_vm", vm)) is True
    ok(cpi("delete_vm", vm))
    assert_no_leaks(sim, before)
    sizes = {e["params"].get("pagesize") for e in sim.request_log() if e["command"].startswith("list")}
    assert sizes <= {None, "2"}, sizes


# -- accounts that are not root admins ----------------------------------------------------------

USER_ROLE = {"role": {"name": "User", "type": "User"}, "api": {"allow_user_expunge_recover_vm": False}}


@pytest.mark.parametrize("role_type", ["User", "DomainAdmin"])
def test_user_account_lifecycle_and_not_found_answers(cloud: Cloud, role_type: str) -> None:
    """The text-based answers the CPI relies on (not found, expunge refused) keep their text for a
    plain user or a domain admin: ApiServer.handleRequest only hides 530/533/534."""
    sim, cpi = cloud({**USER_ROLE, "role": {"name": role_type, "type": role_type}})
    before = cpi_objects(sim)
    stemcell = _light_stemcell(cpi)
    vm = ok(cpi("create_vm", "agent-user", stemcell, {"compute_offering": "small", "disk": 1024},
                {"default": dynamic()}, None, None, context=STEMCELL_CONTEXT))[0]
    disk = ok(cpi("create_disk", 1024, {}, vm))
    ok(cpi("attach_disk", vm, disk))
    ok(cpi("delete_vm", vm))  # expunge refused (531) -> destroy, expungeVirtualMachine refused, go on
    assert ok(cpi("has_vm", vm)) is False
    failed(cpi("delete_vm", vm), "Bosh::Clouds::VMNotFound")
    ok(cpi("delete_disk", disk))
    assert ok(cpi("has_disk", disk)) is False
    assert_no_leaks(sim, before)


def test_user_account_capacity_failure_is_still_retryable(cloud: Cloud) -> None:
    """A 533 answered at once reads "Internal error executing command, please contact your system
    administrator" for a plain user; the CPI classifies it by its code and says why the text is bare."""
    sim, cpi = cloud(USER_ROLE)
    stemcell = _light_stemcell(cpi)
    network = next(n for n in sim.inventory()["networks"] if n["name"] == "bosh-net" and n["zonename"] == "zone-xen")
    ip = free_ip(network)
    manual = {"default": {"type": "manual", "ip": ip, "netmask": "255.255.255.0", "gateway": network["gateway"],
                          "cloud_properties": {"name": "bosh-net"}}}
    first = ok(cpi("create_vm", "agent-a", stemcell, {"compute_offering": "small"}, manual, None, None,
                   context=STEMCELL_CONTEXT))[0]
    before = cpi_objects(sim)
    error = failed(cpi("create_vm", "agent-b", stemcell, {"compute_offering": "small"}, manual, None, None,
                       context=STEMCELL_CONTEXT), "Bosh::Clouds::VMCreationFailed")
    assert "Internal error executing command" in error["message"] and "not root admins" in error["message"], error
    assert error["ok_to_retry"] is True
    assert_no_leaks(sim, before)
    ok(cpi("delete_vm", first))


# -- commands a server does not have ------------------------------------------------------------

def test_unknown_command_is_not_reported_as_wrong_keys(cloud: Cloud) -> None:
    """4.11+ answers a command it does not have with the 401 of a bad signature (ApiServer.verifyRequest).
    Here the operator's cloudstack.version claims 4.19, so the CPI sends changeOfferingForVolume to a
    4.15 server; the client proves its keys and says the command is missing, not that the keys are wrong."""
    sim, cpi = cloud({"cloudstack_version": "4.15.2.0"}, cloudstack={"version": "4.19.1.0"})
    disk = ok(cpi("create_disk", 1024, {}, None))
    error = failed(cpi("update_disk", disk, 102400, {"disk_offering": "disk-large"}), "Bosh::Clouds::NotSupported")
    assert "does not offer changeOfferingForVolume" in error["message"], error
    assert "API key" not in error["message"] and "clock" not in error["message"], error
    ok(cpi("delete_disk", disk))


# -- a cloud that raised vm.userdata.max.length ----------------------------------------------------

BIG_ENV = {"bosh": {"group": "g"}, "trusted_certs": "A" * 30000}


def test_raised_user_data_limit_is_used_when_configured(cloud: Cloud) -> None:
    sim, cpi = cloud({"api": {"userdata_max_length": 65536}}, cloudstack={"user_data_max_length": 65536})
    before = cpi_objects(sim)
    vm = ok(cpi("create_vm", "agent-big", _light_stemcell(cpi), {"compute_offering": "small"},
                {"default": dynamic()}, None, BIG_ENV, context=STEMCELL_CONTEXT))[0]
    assert len(sim.guest_view(vm)["user_data"]) > 30000  # decoded: its base64 is above 32768
    ok(cpi("delete_vm", vm))
    assert_no_leaks(sim, before)


def test_limit_configured_above_the_cloud_fails_cleanly(cloud: Cloud) -> None:
    """The server still refuses (431 "User data has exceeded configurable max length : 32768") after the
    deploy: create_vm fails naming it and removes the VM."""
    sim, cpi = cloud({}, cloudstack={"user_data_max_length": 65536})
    stemcell = _light_stemcell(cpi)
    before = cpi_objects(sim)
    response = cpi("create_vm", "agent-big", stemcell, {"compute_offering": "small", "disk": 1024},
                   {"default": dynamic()}, None, BIG_ENV, context=STEMCELL_CONTEXT)
    error = failed(response, "Bosh::Clouds::VMCreationFailed")
    assert "exceeded configurable max length : 32768" in error["message"], error
    assert_no_leaks(sim, before)
