"""Apache Libcloud's CloudStack driver against the simulator (issue 15): third-party tools read the same cloud.

``list_nodes`` asks for listVirtualMachines, listPublicIpAddresses, listPortForwardingRules and
listIpForwardingRules; a command the server lacks would answer 401 and read as bad credentials.
The VM is the CPI's own, made through the real ``cloudstack-cpi`` process with a vip network.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest

from cpi_framework.testing import contract
from cpi_framework.testing.checks import STEMCELL_CONTEXT, dynamic, ok, public_ip

libcloud_providers = pytest.importorskip("libcloud.compute.providers")
libcloud_types = pytest.importorskip("libcloud.compute.types")

stemcell = contract.stemcell


@pytest.fixture(scope="session")
def hypervisor() -> str:
    return "xen"


def _driver(sim: Any) -> Any:
    url = urlparse(sim.endpoint)
    cls = libcloud_providers.get_driver(libcloud_types.Provider.CLOUDSTACK)
    return cls(sim.api_key, sim.secret_key, host=url.hostname, port=url.port, path=url.path, secure=False)


def test_libcloud_lists_the_cpi_vm_with_its_addresses(shared_simulator: Any, shared_cpi: Any, stemcell: str,
                                                      hypervisor: str) -> None:
    vip = public_ip(shared_simulator, hypervisor)
    networks = {"default": dynamic(default=["dns", "gateway"]), "public": {"type": "vip", "ip": vip}}
    vm = ok(shared_cpi("create_vm", "agent-libcloud", stemcell, {"compute_offering": "small"}, networks, None, None,
                       api_version=2, context=STEMCELL_CONTEXT))[0]
    try:
        driver = _driver(shared_simulator)
        node = next(n for n in driver.list_nodes() if n.id == vm)
        assert node.state == libcloud_types.NodeState.RUNNING
        assert vip in node.public_ips and node.private_ips
        offerings = {o.name for o in driver.ex_list_network_offerings()}
        assert {"bosh-isolated-vr", "bosh-isolated-nouserdata"} <= offerings
        commands = {e["command"]: e["status"] for e in shared_simulator.request_log()}
        for listed in ("listPortForwardingRules", "listIpForwardingRules", "listNetworkOfferings"):
            assert commands.get(listed) == 200, commands
    finally:
        ok(shared_cpi("delete_vm", vm, api_version=2))
