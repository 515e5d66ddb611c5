import json

from cpi_framework.hookspecs import hookimpl
from cpi_framework.types import UserData
from cpi_meta_hooks import spec


@hookimpl
def cpi_hypervisor():
    return spec("meta-user-data")


@hookimpl
def cpi_user_data(settings, vm):
    return UserData(json.dumps({"meta_wrapped": settings}).encode(), delivery="userdata")
