from cpi_framework.hookspecs import hookimpl
from cpi_meta_hooks import spec


@hookimpl
def cpi_hypervisor():
    return spec("meta-disk-hint")


@hookimpl
def cpi_disk_hint(volume, vm, role):
    if role == "persistent":
        return {"path": "/dev/meta" + str(volume["deviceid"]), "id": "meta-" + volume["id"]}
    return None  # system and ephemeral: let xen answer
