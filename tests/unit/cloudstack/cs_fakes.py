"""Test doubles for the CloudStack client tests: a fake clock, and a fake API served over real loopback HTTP.

The fake API checks every request's signature with its own implementation of the server's
algorithm (not the client's signer), so a wire/signing mismatch fails every test. It is served by
:func:`serve_api` (``http.server`` in a thread on 127.0.0.1, HTTP/1.1 keep-alive, optionally TLS),
so every client test goes through the real transport. Faults are server behaviours: :data:`DROP`
closes the connection without an answer, :class:`Stall` answers too late. (A uniquely named
module rather than ``conftest`` so imports never hit another directory's conftest.)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

ENDPOINT = "https://cloud.example.test:8080/client/api"  # settings-only tests; the fake API has its own
SERVER_TIMEOUT = 10.0  # bounds every server-side socket wait
API_KEY = "AKEY-plgWJfZK4gyS3mOM"
SECRET = "SECRET-VDaACYb0LV9eNjTe+/="
NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)


def java_urlencode(value: str) -> str:
    """java.net.URLEncoder.encode(value, "UTF-8"), written out byte by byte."""
    out = []
    for byte in value.encode("utf-8"):
        char = chr(byte)
        if byte < 128 and (char.isalnum() or char in ".-*_"):
            out.append(char)
        elif char == " ":
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def server_signature(params: dict[str, str], secret: str) -> str:
    """ApiServer.verifyRequest: sort names as received, encode values, lowercase, HMAC-SHA1."""
    names = sorted(n for n in params if n.lower() != "signature")
    unsigned = "&".join(f"{n}={java_urlencode(params[n]).replace('+', '%20')}" for n in names).lower()
    digest = hmac.new(secret.encode(), unsigned.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class FakeTime:
    """Injected clock and sleep: sleeping just advances the clock."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class Call:
    method: str
    command: str
    params: dict[str, str]
    url: str
    body: str
    at: float


Handler = Callable[[Call], Any]


class Drop:
    """A fault: close the connection without answering (the client sees it closed or reset)."""

    def __repr__(self) -> str:
        return "DROP"


DROP = Drop()


@dataclass(frozen=True)
class Stall:
    """A fault: answer nothing for ``seconds`` (real time, bounded), then close the connection."""

    seconds: float = 1.0


@dataclass(frozen=True)
class CloseAfter:
    """Answer ``response`` as usual (keep-alive), then close the idle connection: it is stale for the client."""

    response: Any


@dataclass
class FakeApi:
    """Routes requests by ``command`` to handlers; a handler returns (status, body[, headers])."""

    time: FakeTime
    handlers: dict[str, list[Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    endpoint: str = ""
    connections: int = 0

    def on(self, command: str, *responses: Any) -> None:
        """Queue responses for ``command``; the last one repeats. Each is a (status, body[, headers])
        tuple, a dict (200 JSON), a fault (:data:`DROP`, :class:`Stall`), or a callable(call) giving one."""
        self.handlers[command] = list(responses)

    def commands(self) -> list[str]:
        return [c.command for c in self.calls]

    def answer(self, method: str, target: str, body: str) -> Any:
        """The response for one request: (status, text, headers) or a fault."""
        query = urlsplit(target).query if method == "GET" else body
        params = dict(parse_qsl(query, keep_blank_values=True))
        call = Call(method, params.get("command", ""), params, target, body, self.time.now)
        self.calls.append(call)
        if params.get("signature") != server_signature(params, SECRET):
            self.errors.append(f"bad signature on the wire: {call.command}")
            return (599, "bad signature on the wire", {"Content-Type": "text/plain"})
        queue = self.handlers.get(call.command)
        if not queue:
            self.errors.append(f"unexpected command {call.command}")
            return (599, f"unexpected command {call.command}", {"Content-Type": "text/plain"})
        response = queue.pop(0) if len(queue) > 1 else queue[0]
        if callable(response) and not isinstance(response, (dict, tuple)):
            response = response(call)
        if isinstance(response, (Drop, Stall)):
            return response
        if isinstance(response, CloseAfter):
            return CloseAfter(self._plain(response.response))
        return self._plain(response)

    @staticmethod
    def _plain(response: Any) -> tuple[int, str, dict[str, str]]:
        if isinstance(response, dict):
            response = (200, response)
        status, payload, *rest = response
        headers = rest[0] if rest else {"Content-Type": "application/json; charset=UTF-8"}
        return status, payload if isinstance(payload, str) else json.dumps(payload), headers


class _ApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like CloudStack's Jetty
    timeout = SERVER_TIMEOUT
    server: Any

    def setup(self) -> None:
        super().setup()
        # headers and body are separate writes: without NODELAY, Nagle + delayed ACK cost 40 ms each
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.fake.connections += 1

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        answer = self.server.fake.answer(method, self.path, body)
        if isinstance(answer, Stall):
            time.sleep(min(answer.seconds, SERVER_TIMEOUT))
        if isinstance(answer, (Drop, Stall)):
            self.close_connection = True
            return
        close_after = isinstance(answer, CloseAfter)
        status, text, headers = answer.response if close_after else answer
        data = text.encode()
        if headers.get("Content-Encoding") == "gzip":
            import gzip

            data = gzip.compress(data)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        if close_after:
            self.close_connection = True

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def serve_api(fake: FakeApi, tls: tuple[Path, Path] | None = None) -> Iterator[FakeApi]:
    """Serve ``fake`` on 127.0.0.1 (TLS with ``(cert, key)``); sets ``fake.endpoint``."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _ApiHandler)
    httpd.fake = fake  # type: ignore[attr-defined]
    scheme = "http"
    if tls is not None:
        import ssl

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(tls[0]), str(tls[1]))
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    fake.endpoint = f"{scheme}://127.0.0.1:{httpd.server_address[1]}/client/api"
    try:
        yield fake
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=SERVER_TIMEOUT)


@contextmanager
def unaccepting_port() -> Iterator[int]:
    """A loopback port whose listener never accepts and whose backlog is full: connecting times out."""
    listener = socket.socket()
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(3):  # Linux queues backlog + 1 connections; later SYNs are dropped
            filler = socket.socket()
            filler.setblocking(False)
            fillers.append(filler)
            try:
                filler.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
        time.sleep(0.05)
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
