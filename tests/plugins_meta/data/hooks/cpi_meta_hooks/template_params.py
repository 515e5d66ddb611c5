from cpi_framework.hookspecs import hookimpl
from cpi_framework.types import TemplateParams
from cpi_meta_hooks import spec


@hookimpl
def cpi_hypervisor():
    return spec("meta-template-params")


@hookimpl
def cpi_template_params(stemcell, config):
    return TemplateParams(format="VHD", file_suffix=".vhd.bz2", os_type="Ubuntu 22.04 LTS", requires_hvm=True)
