"""A flavour of the fake plugin: extends it and overrides one default and the formats."""

from cpi_framework.hookspecs import hookimpl
from cpi_framework.types import HypervisorSpec


@hookimpl
def cpi_hypervisor():
    return HypervisorSpec(name="fakeflavour", extends="fakehv", stemcell_formats=("fake-flavoured",),
                          defaults={"cloudstack.stemcell_os_type": "Flavoured OS"})
