"""Hook implementations of this plugin. The entry point names this module; keep only hooks here.

Start from the smallest change: a flavour ``extends`` a shipped plugin (xen, kvm or vmware)
and implements only what differs. Every hook and its arguments are described in
``docs/plugin-hooks.md`` of cpi-framework; implement only the arguments you need.
"""

from __future__ import annotations

from typing import Any

from cpi_framework.hookspecs import hookimpl
from cpi_framework.types import HypervisorSpec

NAME = "myflavour"  # the entry point's key: what operators write in cloudstack.hypervisor
BASE = "xen"  # the shipped plugin this flavour extends (its distribution is in pyproject.toml)


@hookimpl
def cpi_hypervisor() -> HypervisorSpec:
    # Exactly one per plugin. ``name`` must equal the entry point's key.
    return HypervisorSpec(
        name=NAME,
        extends=BASE,
        description="My CloudStack flavour",
        # your cloud's names, e.g. "cpi.default_disk_offering": "Data disk"; an operator's config still wins
        defaults={"cloudstack.stemcell_public_visibility": False},
    )


@hookimpl
def cpi_deploy_params(params: dict[str, Any], vm_type: dict[str, Any]) -> None:
    # Runs after the base plugin's implementation; adjust ``params`` in place.
    params.setdefault("details", {}).setdefault(NAME, "true")
