"""Claims the plugin name ``meta-hypervisor`` a second time: discovery must refuse both."""

from cpi_framework.hookspecs import hookimpl
from cpi_framework.types import HypervisorSpec


@hookimpl
def cpi_hypervisor():
    return HypervisorSpec(name="meta-hypervisor", extends="xen")
