from cpi_framework.hookspecs import hookimpl
from cpi_meta_hooks import spec


@hookimpl
def cpi_hypervisor():
    return spec("meta-guest-warnings")


@hookimpl
def cpi_guest_warnings(os_type, userdata_providers):
    return [(f"meta guest: OS type {os_type}, providers {','.join(userdata_providers) or 'none'}", "meta fix")]
