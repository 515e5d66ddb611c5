"""A BOSH registry test double for the API v1 path.

Protocol: ``PUT/GET/DELETE {endpoint}/instances/{id}/settings`` with basic auth; GET
returns ``{"settings": "<json string>"}``; DELETE of a missing entry answers 404, which
clients tolerate.  ``.settings`` maps instance id -> settings string, for assertions.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_PATH = re.compile(r"^/instances/([^/]+)/settings/?$")


class RegistryServer:
    """``with RegistryServer() as reg: reg.endpoint, reg.user, reg.password, reg.settings``."""

    def __init__(self, user: str = "registry", password: str = "registry-password", host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.user, self.password = user, password
        self.settings: dict[str, str] = {}
        self.requests: list[tuple[str, str, int]] = []
        self._lock = threading.Lock()
        registry = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def _answer(self, status: int, payload: dict[str, Any] | None = None) -> None:
                body = json.dumps(payload or {}).encode()
                with registry._lock:
                    registry.requests.append((self.command, self.path, status))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                expected = "Basic " + base64.b64encode(f"{registry.user}:{registry.password}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    self._answer(401, {"status": "unauthorized"})
                    return
                m = _PATH.match(self.path)
                if not m:
                    self._answer(404, {"status": "not_found"})
                    return
                iid = m.group(1)
                with registry._lock:
                    if self.command == "PUT":
                        registry.settings[iid] = body.decode("utf-8")
                        status, payload = 200, {"status": "ok"}
                    elif self.command == "GET":
                        if iid in registry.settings:
                            status, payload = 200, {"settings": registry.settings[iid], "status": "ok"}
                        else:
                            status, payload = 404, {"status": "not_found"}
                    else:
                        status = 200 if registry.settings.pop(iid, None) is not None else 404
                        payload = {"status": "ok" if status == 200 else "not_found"}
                self._answer(status, payload)

            do_GET = do_PUT = do_DELETE = _handle  # noqa: N815

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.endpoint = f"http://{host}:{self._server.server_address[1]}"
        self._thread: threading.Thread | None = None

    def start(self) -> RegistryServer:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True, name="bosh-registry-double")
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server_close()

    def __enter__(self) -> RegistryServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def config(self) -> dict[str, str]:
        """The CPI's ``cpi.registry`` block for this registry."""
        return {"endpoint": self.endpoint, "user": self.user, "password": self.password}
