"""The unsigned ``/_sim/`` admin API: the Python introspection and fault API over HTTP.

Routes (JSON in/out):
  GET  /_sim/info                 endpoint, api_key, secret_key
  GET  /_sim/inventory            Simulator.inventory()
  GET  /_sim/requests             Simulator.request_log()
  GET  /_sim/counts               Simulator.request_counts()
  POST /_sim/reset                {"log": true, "faults": true, "state": false}
  GET  /_sim/faults               pending faults
  POST /_sim/faults               {"action": "fail_next"|"fail_jobs"|"job_duration"|"hang_jobs"|
                                   "drop_connections"|"throttle"|"fail_templates"|"clear", ...kwargs}
  GET  /_sim/guest/<vm_id>        Simulator.guest_view() with bytes as base64
  POST /_sim/templates            Simulator.add_template(**body)
"""

from __future__ import annotations

import base64
import json
from typing import Any

_FAULT_ACTIONS = {"fail_next", "fail_jobs", "job_duration", "hang_jobs", "drop_connections", "throttle",
                  "fail_templates", "clear"}


def _b64(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {k: _b64(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_b64(v) for v in value]
    return value


ADMIN_ROUTES = [
    "GET /_sim/info", "GET /_sim/inventory", "GET /_sim/requests", "GET /_sim/counts", "POST /_sim/reset",
    "GET /_sim/faults", "POST /_sim/faults", "GET /_sim/guest/<vm id>", "POST /_sim/templates",
]


def handle_admin(sim: Any, method: str, path: str, query: str, body: bytes) -> tuple[int, Any]:
    """Dispatch one admin request to the :class:`~cloudstack_simulator.Simulator`."""
    try:
        data = json.loads(body) if body else {}
    except ValueError:
        return 400, {"error": "body must be JSON"}
    if not isinstance(data, dict):
        return 400, {"error": "body must be a JSON object"}
    route = (method, path.rstrip("/"))
    try:
        if route == ("GET", "/_sim"):  # the banner's admin URL: say what lives under it
            return 200, {"routes": ADMIN_ROUTES, "docs": "docs/simulator.md, section 'Admin HTTP API'"}
        if route == ("GET", "/_sim/info"):
            return 200, {"endpoint": sim.endpoint, "api_key": sim.api_key, "secret_key": sim.secret_key}
        if route == ("GET", "/_sim/inventory"):
            return 200, sim.inventory()
        if route == ("GET", "/_sim/requests"):
            return 200, sim.request_log()
        if route == ("GET", "/_sim/counts"):
            return 200, sim.request_counts()
        if route == ("POST", "/_sim/reset"):
            sim.reset(log=data.get("log", True), faults=data.get("faults", True), state=data.get("state", False))
            return 200, {"success": True}
        if route == ("GET", "/_sim/faults"):
            return 200, sim.faults.snapshot()
        if route == ("POST", "/_sim/faults"):
            action = data.pop("action", None)
            if action not in _FAULT_ACTIONS:
                return 400, {"error": f"unknown action {action!r}; one of {sorted(_FAULT_ACTIONS)}"}
            getattr(sim.faults, action)(**data)
            return 200, {"success": True}
        if method == "GET" and path.startswith("/_sim/guest/"):
            try:
                return 200, _b64(sim.guest_view(path[len("/_sim/guest/"):]))
            except KeyError:
                return 404, {"error": "no such virtual machine"}
        if route == ("POST", "/_sim/templates"):
            zone = data.pop("zone")
            name = data.pop("name")
            return 200, sim.add_template(zone, name, **data)
    except TypeError as err:
        return 400, {"error": str(err)}
    except (KeyError, ValueError) as err:
        return 400, {"error": f"bad request: {err}"}
    return 404, {"error": f"no route {method} {path}"}
