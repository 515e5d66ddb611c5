"""The CPI on clouds whose settings differ from the defaults (issue 15; ledger in docs/simulator.md).

Each test starts a simulator configured like such a cloud and runs the real ``cloudstack-cpi``:
a lowered ``default.page.size``.
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
