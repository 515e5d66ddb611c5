from marshmallow import fields

from cpi_framework.hookspecs import hookimpl
from cpi_meta_hooks import spec


@hookimpl
def cpi_hypervisor():
    return spec("meta-vm-type-schema")


@hookimpl
def cpi_vm_type_schema():
    return {"meta_cores_per_socket": fields.Integer(validate=lambda n: n > 0)}
