"""Ikoula's public CloudStack: XenServer hosts, so everything the xen plugin does, plus its defaults.

A flavour declares ``extends="xen"``; the manager then registers xen first and this module
after it. Two ways of customising are shown:

* ``defaults`` - config values Ikoula needs that differ from xen's (HVM templates) or that
  every Ikoula operator would otherwise repeat (offering names). An operator's config still
  wins over any of them.
* a *wrapper* around a first-result hook (``cpi_template_params``): it lets xen answer, then
  adjusts the answer, so fixes to the xen plugin still reach Ikoula users.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from cpi_framework.hookspecs import hookimpl
from cpi_framework.types import HypervisorSpec, TemplateParams

NAME = "ikoula"
# Ikoula's disk offering (the CI of the Java CloudStack CPI, bosh-cloudstack-cpi-core, used it for
# persistent and ephemeral disks).
DISK_OFFERING = "Data disk"


@hookimpl
def cpi_hypervisor() -> HypervisorSpec:
    return HypervisorSpec(
        name=NAME,
        extends="xen",
        description="Ikoula public cloud (XenServer, HVM templates, Ikoula offering names)",
        defaults={
            "cloudstack.stemcell_requires_hvm": True,  # Ikoula's hosts boot the stemcell as HVM
            "cloudstack.stemcell_os_type": "Other PV (64-bit)",
            "cpi.default_disk_offering": DISK_OFFERING,
            "cpi.default_ephemeral_disk_offering": DISK_OFFERING,
        },
    )


@hookimpl(wrapper=True)
def cpi_template_params(stemcell: dict[str, Any], config: Any) -> Generator[None, TemplateParams, TemplateParams]:
    params = yield  # the xen plugin's answer
    # Record the flavour on the template so operators can tell Ikoula-registered templates apart.
    return params._replace(details={**params.details, "bosh_cpi_flavour": NAME})

