"""The method table: every CPI method name → the function that implements it.

Functions are referenced by ``module:function`` and imported only when called, so a call
pays only for the code it runs (``info`` never imports the VM code or the HTTP layer).
Each function takes a :class:`~cpi_framework.context.CallContext` first, then the RPC
arguments positionally; their annotations are the argument checks (``rpc.bind_arguments``).
"""

# No ``from __future__ import annotations`` here: typing.NamedTuple compiles every field's annotation
# string (~3 ms a process for the records on the path of every call); real annotations cost nothing.

from typing import NamedTuple


class MethodEntry(NamedTuple):
    target: str
    min_api_version: int = 1
    light: bool = False
    """Answered from the plugin chain alone: only ``cloudstack.hypervisor`` is read from the
    config (no schema import, no validation), keeping ``info`` within a few times a bare
    interpreter start. Every other method validates the whole file."""


METHODS: dict[str, MethodEntry] = {
    "info": MethodEntry("info:info", light=True),
    "ping": MethodEntry("info:ping", light=True),
    "current_vm_id": MethodEntry("unsupported:current_vm_id"),
    "create_network": MethodEntry("unsupported:create_network"),
    "delete_network": MethodEntry("unsupported:delete_network"),
    "configure_networks": MethodEntry("unsupported:configure_networks"),
    "create_stemcell": MethodEntry("stemcells:create_stemcell"),
    "delete_stemcell": MethodEntry("stemcells:delete_stemcell"),
    "create_vm": MethodEntry("vms:create_vm"),
    "delete_vm": MethodEntry("vms:delete_vm"),
    "has_vm": MethodEntry("vms:has_vm"),
    "reboot_vm": MethodEntry("vms:reboot_vm"),
    "set_vm_metadata": MethodEntry("vms:set_vm_metadata"),
    "calculate_vm_cloud_properties": MethodEntry("vms:calculate_vm_cloud_properties"),
    "create_disk": MethodEntry("disks:create_disk"),
    "delete_disk": MethodEntry("disks:delete_disk"),
    "has_disk": MethodEntry("disks:has_disk"),
    "attach_disk": MethodEntry("disks:attach_disk"),
    "detach_disk": MethodEntry("disks:detach_disk"),
    "get_disks": MethodEntry("disks:get_disks"),
    "resize_disk": MethodEntry("disks:resize_disk"),
    "update_disk": MethodEntry("disks:update_disk", min_api_version=2),
    "set_disk_metadata": MethodEntry("disks:set_disk_metadata"),
    "snapshot_disk": MethodEntry("snapshots:snapshot_disk"),
    "delete_snapshot": MethodEntry("snapshots:delete_snapshot"),
}
