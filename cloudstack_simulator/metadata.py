"""The virtual router's user-data and metadata service: ``GET /latest/...``.

Served on the simulator's own port. A guest on a network whose UserData provider is the
virtual router asks ``http://<router>/latest/user-data`` and
``/latest/meta-data/<key>``; the router answers for the VM whose address the request comes
from. The keys are ``NetworkModelImpl.generateVmData``'s (the same table as
``guest.py``'s metadata; CloudStack 4.11-4.20). The router serves user-data decoded (the
API takes it base64-encoded). On loopback every client is 127.0.0.1, so an
``X-Forwarded-For`` header names the guest (``guest_agent.py`` sets it for the agents it
starts); that is the simulator's only departure from the router. Not checked against the
router's Apache rewrite rules: only the paths above are served.
"""

from __future__ import annotations

from typing import Any

from .guest import guest_view
from .state import State


def _vm_for_address(st: State, address: str) -> Any:
    for vm in st.live("vm"):
        if vm.state == "Running" and any(n.ipaddress == address for n in vm.nics):
            return vm
    return None


def handle_metadata(st: State, path: str, client_address: str, forwarded_for: str | None) -> tuple[int, bytes]:
    """``(status, body)`` for one ``GET /latest/...`` request."""
    address = (forwarded_for or client_address).split(",")[0].strip()
    with st.lock:
        vm = _vm_for_address(st, address)
        if vm is None:
            return 404, f"no running VM has the address {address}\n".encode()
        view = guest_view(st, vm.id)
    if view["user_data_source"] != "virtual-router":
        return 404, b"this VM's network has no virtual-router UserData service\n"
    if path in ("/latest/user-data", "/latest/user-data/"):
        data = view["user_data"]
        return (200, data) if data is not None else (404, b"no user-data\n")
    meta: dict[str, str] = view["metadata"]
    if path.rstrip("/") == "/latest/meta-data":
        return 200, "\n".join(sorted(meta)).encode()
    key = path[len("/latest/meta-data/"):] if path.startswith("/latest/meta-data/") else None
    if key in meta:
        return 200, meta[key].encode()
    return 404, b"Not Found\n"
