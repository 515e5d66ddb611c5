"""Helpers shared by the VM commands: user-data validation, VM lookup, (re)boot."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

from .. import disk_bus
from .. import models as m
from ..errors import param_error
from ..params import Params
from . import Ctx


def validate_userdata(ctx: Ctx, raw: str) -> str:
    """``UserDataManagerImpl.validateUserData``: GET < 4096 base64 chars,
    POST <= ``vm.userdata.max.length``; must decode; decoded length >= 1.  Returns the
    normalised (re-padded) base64 the server stores."""
    api = ctx.cfg["api"]
    if "%" in raw:
        raw = unquote(raw)  # the server's tolerance for double-encoding clients
    max_len = int(api["userdata_max_length"])
    if ctx.method == "GET":
        if len(raw) >= int(api["get_userdata_limit"]):
            raise param_error("User data is too long for an http GET request")
    elif len(raw) > 1024 * 1024:
        raise param_error("User data is too long for an http POST request")
    if len(raw) > max_len:
        raise param_error(f"User data has exceeded configurable max length : {max_len}")
    try:
        decoded = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise param_error("User data is not base64 encoded") from None
    if len(decoded) < 1:
        raise param_error("User data is too short")
    return base64.b64encode(decoded).decode("ascii")


def vm_not_found(value: str) -> str:
    return f"Unable to find a virtual machine with specified vmId {value}"


def get_vm(ctx: Ctx, p: Params, name: str = "id", required: bool = True) -> m.VirtualMachine:
    return ctx.entity(p, name, "vm", required=required, not_found=vm_not_found(p.str(name) or ""))


def boot(ctx: Ctx, vm: m.VirtualMachine, reboot: bool = False) -> None:
    """A start lays the disks out anew from their device ids; a reboot keeps buses, units and PCI
    slots. Either way the guest kernel names its disks again in probe order (disk_bus.py)."""
    vm.boots += 1
    if reboot:
        disk_bus.enumerate_at_boot(ctx.st, vm)
    else:
        disk_bus.lay_out(ctx.st, vm, ctx.st.get("zone", vm.zone_id, True))



def has_user_data_service(ctx: Ctx, net: m.Network) -> bool:
    """Whether the network's offering provides the UserData service (VirtualRouter or ConfigDrive)."""
    return ctx.st.get("networkoffering", net.offering_id, True).userdata_provider is not None
