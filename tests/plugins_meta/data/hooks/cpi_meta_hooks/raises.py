from cpi_framework.hookspecs import hookimpl
from cpi_meta_hooks import spec


@hookimpl
def cpi_hypervisor():
    return spec("meta-raises")


@hookimpl
def cpi_template_params(stemcell, config):
    raise RuntimeError("meta-raises cannot make template params")
