"""A second distribution claiming the fake plugin's name."""

from cpi_framework.hookspecs import hookimpl
from cpi_framework.types import HypervisorSpec


@hookimpl
def cpi_hypervisor():
    return HypervisorSpec(name="fakehv", cloudstack_type="Other")
