"""Methods the contract lists that CloudStack CPIs do not offer, answered with the exact types the director expects."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cpi_framework.errors import MethodNotImplemented, NotSupported

if TYPE_CHECKING:
    from cpi_framework.context import CallContext


def current_vm_id(ctx: CallContext) -> str:
    """Only meaningful for a CPI running inside its VM (the old bosh-micro); not ours."""
    raise MethodNotImplemented(
        "Method 'current_vm_id' is not implemented: this CPI does not run inside a VM it manages"
    )


def create_network(ctx: CallContext, network_definition: Any = None) -> Any:
    """Managed networks: the director falls back when it sees NotImplemented."""
    raise MethodNotImplemented("Method 'create_network' is not implemented by the CloudStack CPI")


def delete_network(ctx: CallContext, network_cid: Any = None) -> Any:
    raise MethodNotImplemented("Method 'delete_network' is not implemented by the CloudStack CPI")


def configure_networks(ctx: CallContext, vm_cid: Any = None, networks: Any = None) -> Any:
    """Changing a VM's networks means recreating it; the director does so on NotSupported."""
    raise NotSupported("CPI does not support modifying the networks of an existing VM (configure_networks)")
