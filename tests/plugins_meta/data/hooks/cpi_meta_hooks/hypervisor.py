from cpi_framework.hookspecs import hookimpl
from cpi_meta_hooks import spec


@hookimpl
def cpi_hypervisor():
    return spec("meta-hypervisor", stemcell_formats=("meta-vhdx", "cloudstack-vhdx"))
