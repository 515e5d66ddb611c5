"""KVM hypervisor plugin (skeleton: hooks arrive with issue 8)."""

from __future__ import annotations

from cpi_framework.hookspecs import hookimpl
from cpi_framework.types import HypervisorSpec


@hookimpl
def cpi_hypervisor() -> HypervisorSpec:
    return HypervisorSpec(name="kvm", cloudstack_type="KVM", stemcell_formats=("openstack-qcow2",))
