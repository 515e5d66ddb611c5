"""The streamed multipart upload and the short-lived image server, over real loopback HTTP."""

from __future__ import annotations

import http.client
import http.server
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cpi_framework.services.serve import ImageServer, default_serve_address, parse_address
from cpi_framework.services.upload import (
    PROGRESS_LEVEL,
    MultipartFile,
    ProgressLog,
    UploadFailed,
    human_size,
    stream_upload,
)


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Reads exactly Content-Length bytes (or the raw chunked stream) and records what arrived."""

    protocol_version = "HTTP/1.1"
    seen: list[dict[str, Any]]
    status = 200
    answer = b"upload successful."

    def do_POST(self) -> None:  # noqa: N802
        headers = dict(self.headers.items())
        length = int(self.headers.get("Content-Length") or 0)
        body = b""
        while len(body) < length:
            chunk = self.rfile.read(min(1 << 20, length - len(body)))
            if not chunk:
                break
            body += chunk
        self.seen.append({"headers": headers, "body": body})
        self.send_response(self.status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(self.answer)))
        self.end_headers()
        self.wfile.write(self.answer)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def upload_server() -> Iterator[tuple[str, type[_Recorder]]]:
    handler = type("Handler", (_Recorder,), {"seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/upload/abc", handler
    finally:
        server.shutdown()
        server.server_close()


def test_body_has_an_exact_length_and_one_file_part(tmp_path: Path) -> None:
    image = tmp_path / "image"
    image.write_bytes(b"A" * 2_500_001)
    body = MultipartFile(str(image), filename="t.vhd.bz2", chunk_size=1 << 20, boundary="B")
    data = b"".join(body)
    assert len(data) == len(body) == len(body.preamble) + 2_500_001 + len(body.epilogue)
    assert data.startswith(b'--B\r\nContent-Disposition: form-data; name="file"; filename="t.vhd.bz2"\r\n'
                           b"Content-Type: application/x-bzip2\r\n\r\nAAA")
    assert data.endswith(b"A\r\n--B--\r\n")
    assert body.content_type == "multipart/form-data; boundary=B"


def test_a_file_that_shrinks_during_the_upload_fails(tmp_path: Path) -> None:
    image = tmp_path / "image"
    image.write_bytes(b"x" * 3000)
    body = MultipartFile(str(image), filename="i.qcow2", chunk_size=1000)
    chunks = iter(body)
    next(chunks), next(chunks)
    image.write_bytes(b"x" * 1500)
    with pytest.raises(UploadFailed, match="shrank"):
        list(chunks)


def test_upload_sends_content_length_never_chunked_with_exact_header_names(tmp_path: Path, upload_server) -> None:
    url, handler = upload_server
    image = tmp_path / "image"
    image.write_bytes(bytes(range(256)) * 20_000)
    seen_progress: list[tuple[int, int]] = []
    result = stream_upload(url, str(image), filename="s.vhd.bz2",
                           headers={"X-signature": "sig", "X-metadata": "meta", "X-expires": "2030-01-01"},
                           progress=lambda sent, total: seen_progress.append((sent, total)))
    (request,) = handler.seen
    headers = request["headers"]
    assert "Transfer-Encoding" not in headers
    assert int(headers["Content-Length"]) == len(request["body"]) == result.body_bytes
    assert {"X-signature": "sig", "X-metadata": "meta", "X-expires": "2030-01-01"}.items() <= headers.items()
    assert headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert image.read_bytes() in request["body"]
    assert result.bytes_sent == image.stat().st_size and result.text == "upload successful."
    assert seen_progress[-1] == (image.stat().st_size, image.stat().st_size)


def test_upload_refusal_carries_the_servers_text(tmp_path: Path, upload_server) -> None:
    url, handler = upload_server
    handler.status, handler.answer = 400, b"File type mismatch between the sent file and the actual content"
    image = tmp_path / "image"
    image.write_bytes(b"data")
    with pytest.raises(UploadFailed, match="HTTP 400: File type mismatch") as info:
        stream_upload(url, str(image), headers={"X-signature": "very-secret-signature"})
    assert info.value.status == 400 and "very-secret-signature" not in str(info.value)


def test_connection_failure_names_the_host_but_no_secret(tmp_path: Path) -> None:
    image = tmp_path / "image"
    image.write_bytes(b"data")
    with pytest.raises(UploadFailed, match=r"http://127\.0\.0\.1:9") as info:
        stream_upload("http://127.0.0.1:9/upload/x", str(image), headers={"X-signature": "very-secret-signature"},
                      timeout=(2, 2))
    assert "very-secret-signature" not in str(info.value) and info.value.status is None


class _EarlyRefusal(http.server.BaseHTTPRequestHandler):
    """Refuses after reading only the headers, as the SSVM does for an oversized file, and closes."""

    protocol_version = "HTTP/1.1"
    timeout = 10

    def do_POST(self) -> None:  # noqa: N802
        answer = b"Maximum file upload size exceeded. Maximum allowed size is 50 GB"
        self.send_response(400)
        self.send_header("Content-Length", str(len(answer)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(answer)
        self.close_connection = True

    def log_message(self, *args: Any) -> None:
        pass


def test_an_early_refusal_is_reported_with_the_servers_text(tmp_path: Path) -> None:
    """The server answers before reading the body and closes: its text, not a broken pipe, is the error."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EarlyRefusal)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    image = tmp_path / "image"
    image.write_bytes(b"x" * (32 << 20))  # far more than the socket buffers hold
    try:
        with pytest.raises(UploadFailed, match="HTTP 400: Maximum file upload size exceeded") as info:
            stream_upload(f"http://127.0.0.1:{server.server_address[1]}/upload/x", str(image), timeout=(5, 5))
    finally:
        server.shutdown()
        server.server_close()
    assert info.value.status == 400


def test_upload_over_tls_verified_with_a_ca_file(tmp_path: Path) -> None:
    import ssl

    from cloudstack_simulator.tls import make_test_ca

    ca, cert, key = make_test_ca(tmp_path / "pki")
    handler = type("Handler", (_Recorder,), {"seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    image = tmp_path / "image"
    image.write_bytes(b"y" * 3_000_000)
    url = f"https://127.0.0.1:{server.server_address[1]}/upload/x"
    try:
        result = stream_upload(url, str(image), verify=str(ca), timeout=(5, 5))
        with pytest.raises(UploadFailed, match="TLS handshake with the upload server") as info:
            stream_upload(url, str(image), timeout=(5, 5))  # certifi's bundle does not know the test CA
    finally:
        server.shutdown()
        server.server_close()
    assert result.bytes_sent == 3_000_000 and len(handler.seen) == 1
    assert info.value.transport is not None and info.value.status is None


def test_progress_log_every_ten_percent_or_thirty_seconds(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    logger = logging.getLogger("cpi.test-progress")
    logger.setLevel(PROGRESS_LEVEL)
    progress = ProgressLog(logger, "Uploading", clock=lambda: now[0])
    with caplog.at_level(PROGRESS_LEVEL, logger="cpi.test-progress"):
        for sent in range(0, 1001, 10):  # 1 % steps, 1 s apart
            now[0] += 1
            progress(sent, 1000)
        now[0] += 45  # a stall: the next report comes by time, not by percent
        progress(1000, 1000)
    info = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    fine = [r for r in caplog.records if r.levelno == PROGRESS_LEVEL]
    assert 10 <= len(info) <= 12 and info[0].startswith("Uploading: 10%") and "/s" in info[0]
    assert all(hasattr(r, "upload_progress") for r in fine) and len(fine) > len(info)


def test_progress_log_is_quiet_for_a_quick_upload(caplog: pytest.LogCaptureFixture) -> None:
    """issue 19 item 13: a 300 KiB image logged 11 lines at rates like 476.8 GiB/s."""
    now = [0.0]
    logger = logging.getLogger("cpi.test-progress-quick")
    progress = ProgressLog(logger, "Uploading", clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="cpi.test-progress-quick"):
        for sent in range(0, 300 * 1024 + 1, 30 * 1024):
            now[0] += 0.0005
            progress(sent, 300 * 1024)
    assert [r for r in caplog.records if r.levelno == logging.INFO] == []


def test_human_size() -> None:
    assert human_size(512) == "512 B" and human_size(3 * 2**30) == "3.0 GiB" and human_size(1536) == "1.5 KiB"


# -- the image server --------------------------------------------------------------------------


def _get(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        conn.request(method, parts.path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_image_server_serves_only_its_file_with_ranges(tmp_path: Path) -> None:
    image = tmp_path / "image"
    image.write_bytes(b"0123456789" * 1000)
    with ImageServer(str(image), "s-1.vhd.bz2", "127.0.0.1:0") as server:
        assert server.url.endswith("/s-1.vhd.bz2") and server.url.startswith("http://127.0.0.1:")
        status, headers, body = _get(server.url)
        assert status == 200 and body == image.read_bytes() and headers["Content-Length"] == "10000"
        status, headers, body = _get(server.url, headers={"Range": "bytes=10-19"})
        assert status == 206 and body == b"0123456789" and headers["Content-Range"] == "bytes 10-19/10000"
        status, _, body = _get(server.url, "HEAD")
        assert status == 200 and body == b""
        root = server.url.rsplit("/", 2)[0]
        assert _get(root + "/other/s-1.vhd.bz2")[0] == 404
        assert _get(root + "/")[0] == 404
    with pytest.raises(OSError):
        _get(server.url)


def test_default_serve_address_is_this_hosts_address_towards_the_api() -> None:
    """auto upload mode on a cloud without direct upload: the route to the endpoint picks the address
    (a UDP connect sends nothing); the port is left to the kernel."""
    assert default_serve_address("http://127.0.0.1:8080/client/api") == "127.0.0.1:0"
    assert default_serve_address("https://localhost/client/api") in {"127.0.0.1:0", "[::1]:0"}
    host, port = parse_address(default_serve_address("http://127.0.0.2/client/api"))
    assert port == 0 and host.startswith("127.")


def test_image_server_address_rules() -> None:
    assert parse_address("10.0.0.5:8080") == ("10.0.0.5", 8080)
    assert parse_address("[::1]:0") == ("::1", 0)
    with pytest.raises(ValueError, match="host:port"):
        parse_address("10.0.0.5")
    with pytest.raises(ValueError, match="wildcard"):
        ImageServer("/dev/null", "x.qcow2", "0.0.0.0:0")
