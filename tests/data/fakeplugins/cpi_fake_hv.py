"""A fake hypervisor plugin installed through a dist-info on sys.path (entry-point loading test)."""

from cpi_framework.hookspecs import hookimpl
from cpi_framework.types import HypervisorSpec


@hookimpl
def cpi_hypervisor():
    return HypervisorSpec(name="fakehv", cloudstack_type="Simulator", stemcell_formats=("fake-raw",),
                          defaults={"cloudstack.stemcell_os_type": "Fake OS"})
