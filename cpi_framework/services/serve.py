"""A short-lived HTTP server that serves one stemcell image while CloudStack downloads it.

``url`` upload mode with ``cpi.stemcell_serve_address`` set: the CPI binds that address for the
duration of one ``create_stemcell`` (as the Java CloudStack CPI, bosh-cloudstack-cpi-core, did,
without its long-running WebDAV daemon), serves exactly one file under an unguessable path, and
stops when the template is ready or the call fails. Images are streamed in chunks (``Content-
Length``, ``Range`` for resumed downloads), so memory stays flat in the image size. An image
that is a member of the stemcell's archive (:class:`~.upload.ImageSource`, OpenStack's
``root.img``) is served the same way, extracted on the fly with the member's size as ``Content-
Length``; a ``Range`` request then costs a re-read of the archive up to its start.
"""

from __future__ import annotations

import http.server
import logging
import re
import secrets
import threading
from typing import Any
from urllib.parse import quote

from cpi_framework.services.upload import ImageSource, image_source

CHUNK = 1 << 20
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_address(address: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` for IPv6; port 0 picks a free one) → (host, port)."""
    host, sep, port = address.strip().rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"cpi.stemcell_serve_address must be host:port, got '{address}'")
    return host.strip("[]"), int(port)


def default_serve_address(endpoint: str) -> str:
    """``host:0`` with this host's own address on the route to the API ``endpoint`` (no packet is sent:
    connecting a UDP socket only selects the route). The stand-in for ``cpi.stemcell_serve_address``
    where a cloud can only register templates by URL and the operator named no address."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    family, _, _, _, target = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        probe.connect(target)
        local = probe.getsockname()[0]
    return f"[{local}]:0" if ":" in local else f"{local}:0"


class ImageServer:
    """Serve ``path`` (a file name or an :class:`ImageSource`) as ``http://<host>:<port>/<token>/<filename>``
    until :meth:`stop`.

    Use as a context manager. ``host`` must be an address the secondary storage VM can reach;
    it is also the host written into the URL, so a wildcard bind (``0.0.0.0``) is refused.
    """

    def __init__(self, path: str | ImageSource, filename: str, address: str,
                 logger: logging.Logger | None = None) -> None:
        host, port = parse_address(address)
        if host in {"0.0.0.0", "::", ""}:
            raise ValueError("cpi.stemcell_serve_address needs the address CloudStack reaches the CPI on, "
                             "not a wildcard")
        self.source = path if isinstance(path, ImageSource) else image_source(path)
        self.filename = filename
        self.logger = logger or logging.getLogger("cpi.serve")
        self.route = f"/{secrets.token_urlsafe(16)}/{quote(filename)}"
        self.requests = 0
        server_class = _V6Server if ":" in host else http.server.ThreadingHTTPServer
        self.httpd = server_class((host, port), self._handler())
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="stemcell-serve", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        shown = f"[{host}]" if ":" in str(host) else host
        return f"http://{shown}:{port}{self.route}"

    def start(self) -> ImageServer:
        self._thread.start()
        self.logger.info("Serving the stemcell image for CloudStack at http://%s:%s/…/%s",
                         *self.httpd.server_address[:2], self.filename)
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)
        self.logger.info("Stopped serving the stemcell image (%d request(s))", self.requests)

    def __enter__(self) -> ImageServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "cloudstack-cpi"
            sys_version = ""

            def do_HEAD(self) -> None:  # noqa: N802 - http.server naming
                self._serve(body=False)

            def do_GET(self) -> None:  # noqa: N802
                self._serve(body=True)

            def _serve(self, body: bool) -> None:
                owner.requests += 1
                if self.path.split("?", 1)[0] != owner.route:
                    self.send_error(404)
                    return
                size = owner.source.size
                start, end = 0, size - 1
                match = _RANGE.match(self.headers.get("Range", "").strip())
                status = 200
                if match and size and (match.group(1) or match.group(2)):
                    first, last = match.groups()
                    if first:
                        start, end = int(first), min(int(last), size - 1) if last else size - 1
                    else:
                        start = max(size - int(last), 0)
                    if start > end:
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{size}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    status = 206
                self.send_response(status)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(end - start + 1 if size else 0))
                self.send_header("Accept-Ranges", "bytes")
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
                self.end_headers()
                if body and size:
                    self._copy(start, end - start + 1)

            def _copy(self, offset: int, length: int) -> None:
                try:
                    with owner.source.open(offset) as stream:
                        while length > 0:
                            chunk = stream.read(min(CHUNK, length))
                            if not chunk:
                                break
                            self.wfile.write(chunk)
                            length -= len(chunk)
                except (ConnectionError, TimeoutError):
                    raise  # the downloader went away: http.server ends the connection
                except Exception as exc:  # the image became unreadable: the download ends short, CloudStack retries
                    owner.logger.warning("Serving %s failed with %d byte(s) left: %s: %s", owner.source.label,
                                         length, type(exc).__name__, exc)
                if length > 0:
                    self.close_connection = True  # fewer bytes than Content-Length: never reuse this connection

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server signature
                owner.logger.debug("serve: %s %s", self.address_string(), format % args)

        return Handler


class _V6Server(http.server.ThreadingHTTPServer):
    import socket as _socket

    address_family = _socket.AF_INET6
