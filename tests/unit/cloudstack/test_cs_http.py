"""The client over real HTTP on 127.0.0.1: what requests actually puts on the wire is signed right."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from cs_fakes import SECRET, FakeTime, server_signature

from cpi_framework.cloudstack import ClientSettings, CloudStackClient, TransportError


class Handler(BaseHTTPRequestHandler):
    seen: list[tuple[str, dict[str, str]]] = []

    def _answer(self, method: str, raw: str) -> None:
        params = dict(parse_qsl(raw, keep_blank_values=True))
        self.seen.append((method, params))
        if params.get("signature") != server_signature(params, SECRET):
            status, body = 401, {"errorresponse": {"errorcode": 401, "errortext": "unable to verify signature"}}
        else:
            echo = {k: v for k, v in params.items() if k not in ("signature", "apikey", "expires")}
            status, body = 200, {f"{params['command'].lower()}response": {"echo": echo}}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        self._answer("GET", urlsplit(self.path).query)

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers["Content-Length"])
        self._answer("POST", self.rfile.read(length).decode())

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    Handler.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/client/api"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def make(endpoint: str, **extra: Any) -> CloudStackClient:
    settings = ClientSettings(
        endpoint=endpoint, api_key="key", secret_key=SECRET, connect_timeout=2, read_timeout=5, **extra
    )
    fake = FakeTime()
    return CloudStackClient(settings, clock=fake.clock, sleep=fake.sleep)


def test_get_with_awkward_values_is_accepted(server: str) -> None:
    keyword = "a b*c~d/é+&=%[]😀"
    with make(server) as client:
        echo = client.call("listVirtualMachines", {"keyword": keyword, "tags": [{"key": "k~", "value": "v v"}]})["echo"]
    assert echo["keyword"] == keyword and echo["tags[0].value"] == "v v"
    assert Handler.seen[0][0] == "GET"


def test_post_with_large_userdata_is_accepted(server: str) -> None:
    userdata = "QUJD+/==" * 1000
    with make(server) as client:
        echo = client.call("deployVirtualMachine", {"userdata": userdata, "details": {"cpuNumber": 2}})["echo"]
        client.call("listZones")
    assert echo["userdata"] == userdata and echo["details[0].cpuNumber"] == "2"
    assert [m for m, _ in Handler.seen] == ["POST", "GET"]
    assert client.stats.total_requests == 2


def test_connection_refused_is_a_transport_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with make(f"http://127.0.0.1:{port}/client/api", read_retries=1) as client, pytest.raises(TransportError) as info:
        client.call("listZones")
    assert "Connection refused" in str(info.value)
    assert "signature" not in str(info.value) and "apikey" not in str(info.value) and "?" not in str(info.value)
    assert client.stats.counts == {"listZones": 2}  # read-only: retried once
