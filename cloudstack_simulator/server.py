"""HTTP(S) front end: ``/client/api``, the upload endpoint and the ``/_sim/`` admin API.

A ``ThreadingHTTPServer`` speaking HTTP/1.1 with keep-alive (clients reuse sessions, as a
CPI should).  Parameters come from the query string and, for POST, the form body, merged
like ``req.getParameterMap()``.
"""

from __future__ import annotations

import json
import socket
import ssl
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .admin import handle_admin
from .app import Core, Result
from .metadata import handle_metadata
from .upload import handle_upload

MAX_FORM = 8 * 1024 * 1024


class SimHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], core: Core, sim: Any, tls: ssl.SSLContext | None,
                 role: str = "api") -> None:
        self.core, self.sim, self.tls = core, sim, tls
        self.role = role
        """``api`` (the management server: ``/client/api``, ``/_sim/``) or ``upload`` (the SSVM: ``/upload/``)."""
        super().__init__(addr, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (a probe, a killed CPI) is no server error: no traceback on stderr."""
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        if self.tls is not None:
            # Handshake in the worker thread (do_handshake_on_connect), not the accept loop.
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SimHTTPServer
    server_version = "CloudStackSimulator/1.0"

    def setup(self) -> None:
        # Headers and body are separate writes: without NODELAY, Nagle + delayed ACK cost 40 ms.
        try:
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(30)
            try:
                self.request.do_handshake()
            except (ssl.SSLError, OSError):
                self.close_connection = True
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet by design
        pass

    # -- routing --------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802
        self._route("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._route("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._route("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._route("DELETE")

    def _route(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        try:
            if self.server.role == "upload":
                if path.startswith("/upload/") and method == "POST":
                    self._upload(path[len("/upload/"):])
                else:  # HttpUploadServerHandler: "only post requests are allowed"; no API on the SSVM
                    self._read_body()
                    self._send(404, b"Not Found", "text/plain")
            elif path == "/client/api":
                self._api(method, parts.query)
            elif path.startswith("/latest/") and method == "GET":
                status, text = handle_metadata(self.server.core.st, path, self.client_address[0],
                                               self.headers.get("X-Forwarded-For"))
                self._send(status, text, "text/plain; charset=UTF-8")
            elif path.startswith("/_sim/"):
                body = self._read_body()
                status, payload = handle_admin(self.server.sim, method, path, parts.query, body)
                self._send(status, json.dumps(payload).encode(), "application/json")
            else:
                self._read_body()
                self._send(404, b"Not Found", "text/plain")
        except (ConnectionError, ssl.SSLError, TimeoutError):
            self.close_connection = True

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_FORM:
            raise ConnectionError("body too large for a form")
        return self.rfile.read(length) if length > 0 else b""

    def _api(self, method: str, query: str) -> None:
        params: dict[str, str] = {}
        for k, v in parse_qsl(query, keep_blank_values=True):
            params.setdefault(k, v)
        if method == "POST":
            body = self._read_body()
            ctype = (self.headers.get("Content-Type") or "").lower()
            if body and ("x-www-form-urlencoded" in ctype or not ctype):
                for k, v in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
                    params.setdefault(k, v)
        elif method not in ("GET",):
            self._read_body()
            self._send(405, b"Method Not Allowed", "text/plain")
            return
        result = self.server.core.api(method, params)
        self._reply(result)

    def _upload(self, template_id: str) -> None:
        scheme = "https" if self.server.tls is not None else "http"
        started = time.monotonic()
        status, text = handle_upload(self.server.core.st, self.server.core.faults, template_id, self.headers,
                                     self.rfile, scheme)
        self.server.core.record({"time": time.time(), "method": "POST", "command": "upload",
                                 "params": {"template_id": template_id}, "status": status,
                                 "elapsed": time.monotonic() - started})
        # The body may be unread after a header check failed: never reuse the connection.
        self.close_connection = True
        self._send(status, text.encode(), "text/plain; charset=UTF-8", close=True)

    # -- output ---------------------------------------------------------------------------
    def _reply(self, result: Result) -> None:
        if result.drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self._send(result.status, result.body, result.content_type, result.headers)

    def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None,
              close: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v.replace("\r", " ").replace("\n", " ")[:1000])
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
