"""The standard-library transport over real loopback HTTP: what ``requests`` used to give for free.

Keep-alive reuse (connections counted server-side), the stale-connection rule, TLS trust and its
errors against the simulator's test CA, proxies (a tiny CONNECT/forwarding proxy on 127.0.0.1),
gzip answers. Timeouts and redirects are in test_cs_call.py.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cs_fakes import DROP, SERVER_TIMEOUT, CloseAfter, FakeApi, FakeTime

from cpi_framework.cloudstack import CloudStackClient, NotTLSError, TLSError, TransportError
from cpi_framework.cloudstack.proxies import proxy_for

ZONES = {"listzonesresponse": {"count": 1, "zone": [{"id": "z1", "name": "zone-1"}]}}
DEPLOYED = {"deployvirtualmachineresponse": {"jobid": "j1", "id": "vm-1"}}


def test_one_connection_serves_every_call(api: FakeApi, client: CloudStackClient) -> None:
    api.on("listZones", ZONES)
    api.on("deployVirtualMachine", DEPLOYED)
    for _ in range(3):
        client.call("listZones")
    client.call("deployVirtualMachine", {"zoneid": "z1"})
    assert api.commands() == ["listZones"] * 3 + ["deployVirtualMachine"]
    assert api.connections == 1 and client.connection.opened == 1


def test_connection_closed_while_idle_is_reopened_before_sending(
    api: FakeApi, client: CloudStackClient, fake_time: FakeTime
) -> None:
    api.on("listZones", CloseAfter(ZONES), ZONES)
    api.on("deployVirtualMachine", DEPLOYED)
    client.call("listZones")
    _wait_until_closed_by_server(client)
    client.call("deployVirtualMachine", {"zoneid": "z1"})  # a mutation too: it was never sent on the dead socket
    assert api.commands() == ["listZones", "deployVirtualMachine"]
    assert api.connections == 2 and fake_time.sleeps == [] and client.stats.retries == 0


def test_read_resent_once_when_a_reused_connection_breaks_before_answering(
    api: FakeApi, client: CloudStackClient, fake_time: FakeTime
) -> None:
    api.on("listZones", ZONES, DROP, ZONES)
    client.call("listZones")
    assert client.call("listZones")["count"] == 1
    assert api.commands() == ["listZones"] * 3  # the dropped one, re-sent at once on a new connection
    assert api.connections == 2 and fake_time.sleeps == [] and client.stats.retries == 0


def test_mutation_never_resent_when_a_reused_connection_breaks(api: FakeApi, client: CloudStackClient) -> None:
    api.on("listZones", ZONES)
    api.on("deployVirtualMachine", DROP)
    client.call("listZones")
    with pytest.raises(TransportError, match="deployVirtualMachine may or may not have taken effect"):
        client.call("deployVirtualMachine", {"zoneid": "z1"})
    assert api.commands() == ["listZones", "deployVirtualMachine"]


def test_gzip_answer_is_decoded(api: FakeApi, client: CloudStackClient) -> None:
    api.on("listZones", (200, ZONES, {"Content-Type": "application/json", "Content-Encoding": "gzip"}))
    assert client.call("listZones")["count"] == 1


# -- TLS ------------------------------------------------------------------------------------------


def test_custom_ca_verifies_and_keeps_the_connection(tls_api: FakeApi, make_client, test_pki) -> None:
    client = make_client(endpoint=tls_api.endpoint, verify=str(test_pki["ca"]))
    tls_api.on("listZones", ZONES)
    client.call("listZones")
    client.call("listZones")
    assert tls_api.connections == 1


def test_default_trust_honours_requests_ca_bundle(tls_api: FakeApi, make_client, test_pki, monkeypatch) -> None:
    """verify=True meant certifi's bundle, or REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE when set: still so."""
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(test_pki["ca"]))
    tls_api.on("listZones", ZONES)
    assert make_client(endpoint=tls_api.endpoint).call("listZones")["count"] == 1


def test_https_endpoint_on_a_plain_http_server_is_not_tls(api: FakeApi, make_client) -> None:
    client = make_client(endpoint=api.endpoint.replace("http://", "https://"), read_retries=0)
    with pytest.raises(NotTLSError, match="answered in plain HTTP"):
        client.call("listZones")


def test_garbage_ca_file_names_the_setting(tls_api: FakeApi, make_client, tmp_path: Path) -> None:
    garbage = tmp_path / "ca.pem"
    garbage.write_text("not a certificate\n")
    client = make_client(endpoint=tls_api.endpoint, verify=str(garbage), read_retries=0)
    with pytest.raises(TLSError, match="cloudstack.ca_cert holds no usable PEM CA certificate") as info:
        client.call("listZones")
    assert info.value.__context__ is None and not tls_api.calls


# -- proxies --------------------------------------------------------------------------------------


class _Proxy(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.heads: list[str] = []


class _ProxyHandler(socketserver.BaseRequestHandler):
    """CONNECT opens a tunnel; any other method is forwarded as sent (absolute-form) to its host."""

    server: _Proxy

    def handle(self) -> None:
        self.request.settimeout(SERVER_TIMEOUT)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(65536)
            if not chunk:
                return
            head += chunk
        text = head.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        self.server.heads.append(text)
        method, target, _ = text.split("\r\n", 1)[0].split(" ", 2)
        if method == "CONNECT":
            host, port = target.rsplit(":", 1)
        else:
            host, port = target.split("/")[2].rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)), timeout=SERVER_TIMEOUT)
        if method == "CONNECT":
            self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            upstream.sendall(head)
        pump = threading.Thread(target=_pipe, args=(upstream, self.request), daemon=True)
        pump.start()
        _pipe(self.request, upstream)
        pump.join(SERVER_TIMEOUT)
        upstream.close()


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        try:
            target.shutdown(socket.SHUT_WR)
        except OSError:
            pass


@pytest.fixture
def proxy() -> Iterator[_Proxy]:
    server = _Proxy()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(SERVER_TIMEOUT)


def _proxy_url(proxy: _Proxy, auth: str = "") -> str:
    return f"http://{auth}127.0.0.1:{proxy.server_address[1]}"


def test_https_goes_through_a_connect_tunnel_with_proxy_auth(tls_api: FakeApi, make_client, test_pki, proxy) -> None:
    url = _proxy_url(proxy, "us%40er:p%3Ass@")
    client = make_client(endpoint=tls_api.endpoint, verify=str(test_pki["ca"]), proxies={"http": url, "https": url})
    tls_api.on("listZones", ZONES)
    client.call("listZones")
    client.call("listZones")
    (head,) = proxy.heads  # one tunnel, kept alive
    port = tls_api.endpoint.split(":")[2].split("/")[0]
    assert head.startswith(f"CONNECT 127.0.0.1:{port} HTTP/1.")
    assert "Proxy-Authorization: Basic dXNAZXI6cDpzcw==" in head  # "us@er:p:ss"
    assert tls_api.connections == 1


def test_http_goes_to_the_proxy_in_absolute_form(api: FakeApi, make_client, proxy) -> None:
    url = _proxy_url(proxy)
    client = make_client(proxies={"http": url, "https": url})
    api.on("listZones", ZONES)
    assert client.call("listZones")["count"] == 1
    assert proxy.heads[0].startswith(f"GET {api.endpoint}?")


def test_environment_proxies_apply_unless_no_proxy(api: FakeApi, make_client, proxy, monkeypatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", _proxy_url(proxy))
    monkeypatch.delenv("http_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    api.on("listZones", ZONES)
    make_client().call("listZones")
    assert len(proxy.heads) == 1
    monkeypatch.setenv("NO_PROXY", "127.0.0.0/8")
    make_client().call("listZones")
    assert len(proxy.heads) == 1 and len(api.calls) == 2


def test_proxy_choice_follows_requests(monkeypatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    given = {"http": "http://p1:1", "https": "http://p2:2"}
    assert proxy_for("https://cloud.example:8080/client/api", given) == "http://p2:2"
    assert proxy_for("http://cloud.example/client/api", None) is None
    monkeypatch.setenv("HTTPS_PROXY", "http://env:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example,10.0.0.0/8")
    assert proxy_for("https://cloud.example/x", None) == "http://env:3128"
    assert proxy_for("https://api.internal.example/x", None) is None
    assert proxy_for("https://10.1.2.3/x", None) is None
    assert proxy_for("https://cloud.example/x", given) == "http://p2:2"  # the configured proxy wins


def _wait_until_closed_by_server(client: CloudStackClient) -> None:
    """Bounded wait for the server's FIN on the idle kept-alive socket."""
    import select

    sock: Any = client.connection._conn.sock  # type: ignore[union-attr]
    readable, _, _ = select.select([sock], [], [], SERVER_TIMEOUT)
    assert readable, "the server did not close the idle connection"
