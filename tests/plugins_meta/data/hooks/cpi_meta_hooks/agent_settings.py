from cpi_framework.hookspecs import hookimpl
from cpi_meta_hooks import spec


@hookimpl
def cpi_hypervisor():
    return spec("meta-agent-settings")


@hookimpl
def cpi_agent_settings(settings, vm, context):
    for network in settings["networks"].values():
        network["preconfigured"] = True
    settings["env"].setdefault("bosh", {})["meta_context_api_version"] = context["api_version"]
