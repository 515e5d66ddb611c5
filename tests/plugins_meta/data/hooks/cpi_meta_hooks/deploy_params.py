from cpi_framework.hookspecs import hookimpl
from cpi_meta_hooks import spec


@hookimpl
def cpi_hypervisor():
    return spec("meta-deploy-params")


@hookimpl
def cpi_deploy_params(params, vm_type):
    params.setdefault("details", {})["metaDetail"] = "from-plugin"
