"""One persistent HTTP/1.1 connection on the standard library's ``http.client``: all the HTTP the CPI makes.

The CloudStack API, the stemcell upload to the secondary storage VM, its ``check --probe-upload``
and the legacy registry all go through :class:`Connection`. Not ``requests``: importing it costs
~13x a bare interpreter start (urllib3, charset_normalizer, http.cookiejar, importlib.metadata),
``http.client`` ~4x, and a one-request CPI call (``has_vm``) paid more for that import than for
its request (docs/architecture.md, "Dependencies"). What ``requests`` gave and this keeps:

* **Keep-alive**: one connection, reused by the next request. A kept-alive connection the server
  closed meanwhile is noticed before sending (its socket reads EOF) and reopened: that request was
  never sent. One that breaks before any answer byte arrives is re-sent once only when the caller
  says re-sending is harmless (``idempotent=True``: read-only commands).
* **Two timeouts**: ``connect_timeout`` bounds TCP connect, the proxy's CONNECT and the TLS
  handshake; ``read_timeout`` bounds every socket operation after that.
* **TLS** verified as requests did (:mod:`.tls`); the context (certifi's bundle, ~60 ms to load) is
  built for https origins only, once per process.
* **Proxies**: the caller's (``{"http": url, "https": url}``), else the environment's
  (``HTTP(S)_PROXY``/``ALL_PROXY``/``NO_PROXY``, as requests' ``trust_env``); https through a
  CONNECT tunnel, http as absolute-form requests; credentials in the proxy URL become
  ``Proxy-Authorization: Basic``.
* gzip/deflate answers are decoded; redirects are never followed (the caller sees the 3xx).

Failures are :class:`HttpFailure` subclasses whose text is a short reason (an ``[Errno N] ...``
or the TLS library's words), never the request line, and which say whether the request may have
reached the server.
"""

from __future__ import annotations

import http.client
import socket
import sys
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

from .proxies import proxy_for

__all__ = [
    "ConnectFailed",
    "ConnectTimedOut",
    "Connection",
    "ConnectionBroken",
    "HttpFailure",
    "ProxyFailed",
    "ReadTimedOut",
    "Response",
    "TlsFailed",
    "basic_auth",
]

ACCEPT_ENCODING = "gzip, deflate"


class HttpFailure(Exception):
    """No usable answer. ``sent`` is False when the request certainly never reached the server."""

    sent = True

    def __init__(self, reason: str, *, sent: bool | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        if sent is not None:
            self.sent = sent


class ConnectFailed(HttpFailure):
    """No connection: refused, unresolvable, unreachable. Nothing was sent."""

    sent = False


class ConnectTimedOut(ConnectFailed):
    """The connection (TCP, proxy tunnel or TLS handshake) was not made within the connect timeout."""


class ProxyFailed(ConnectFailed):
    """The proxy could not be reached, or refused to open the tunnel."""


class TlsFailed(HttpFailure):
    """The TLS handshake or certificate verification failed, or the CA file is unusable; ``__cause__``
    is the ``ssl`` error (see :func:`.tls.ssl_cause`). Nothing was sent."""

    sent = False


class ReadTimedOut(HttpFailure):
    """The request went out but no answer came within the read timeout."""


class ConnectionBroken(HttpFailure):
    """The connection broke after the request started: reset, closed, or a garbled answer."""


class Response(NamedTuple):
    status: int
    reason: str
    headers: http.client.HTTPMessage
    """Case-insensitive ``get`` like requests' headers."""
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class _Stale(Exception):
    """A reused connection broke before any answer byte: the server had closed it."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


def basic_auth(user: str, password: str) -> str:
    """An ``Authorization``/``Proxy-Authorization`` value (latin-1 as requests, UTF-8 beyond it)."""
    import base64

    raw = f"{user}:{password}"
    try:
        data = raw.encode("latin-1")
    except UnicodeEncodeError:
        data = raw.encode("utf-8")
    return "Basic " + base64.b64encode(data).decode("ascii")


def reason_of(exc: BaseException) -> str:
    """A short, URL-free reason: ``[Errno 111] Connection refused``, ``timed out``, the class name."""
    if isinstance(exc, OSError) and exc.errno is not None and exc.strerror:
        return f"[Errno {exc.errno}] {exc.strerror}"
    text = str(exc).splitlines()[0] if str(exc) else ""
    return (text or type(exc).__name__)[:300]


class _HTTPConnection(http.client.HTTPConnection):
    """Connects within ``timeout`` (the connect timeout), then switches the socket to ``read_timeout``."""

    read_timeout: float = 120.0

    def connect(self) -> None:
        super().connect()
        self.sock.settimeout(self.read_timeout)


def _https_connection_class() -> type[http.client.HTTPConnection]:
    class _HTTPSConnection(http.client.HTTPSConnection):
        read_timeout: float = 120.0

        def connect(self) -> None:
            super().connect()  # TCP (and tunnel) + handshake, all within the connect timeout
            self.sock.settimeout(self.read_timeout)

    return _HTTPSConnection


class _Proxy(NamedTuple):
    host: str
    port: int
    authorization: str | None


class Connection:
    """A persistent connection to one origin (``scheme://host[:port]``), through a proxy or not.

    ``verify`` is True (certifi's bundle, as requests), a CA file or directory, or False.
    ``opened`` counts the connections made (for tests and benchmarks).
    """

    def __init__(
        self,
        origin: str,
        *,
        verify: bool | str = True,
        proxies: Mapping[str, str] | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 120.0,
    ) -> None:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {parts.scheme}://{parts.hostname or ''}")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.verify = verify
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.proxy_url = proxy_for(origin, proxies)
        self.opened = 0
        self._conn: http.client.HTTPConnection | None = None

    @property
    def origin(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}" + ("" if self.port == default else f":{self.port}")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        target: str,
        *,
        body: bytes | Iterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = False,
    ) -> Response:
        """Send one request (``target``: path and query) and read the whole answer.

        :raises HttpFailure: no usable answer (see the subclasses).
        """
        conn = self._conn
        reused = conn is not None and conn.sock is not None
        if reused and _dropped(conn.sock):  # the server closed it while idle: reopen, nothing sent yet
            self.close()
            reused = False
        all_headers = {"Accept-Encoding": ACCEPT_ENCODING, **(headers or {})}
        if self.proxy_url is not None and self.scheme == "http":
            proxy = _parse_proxy(self.proxy_url)
            target = self.origin + target  # absolute form: the proxy forwards it
            if proxy.authorization:
                all_headers["Proxy-Authorization"] = proxy.authorization
        try:
            return self._exchange(method, target, body, all_headers)
        except _Stale as stale:
            self.close()
            replayable = body is None or isinstance(body, (bytes, bytearray))
            if not (reused and idempotent and replayable):
                raise ConnectionBroken(reason_of(stale.cause)) from stale.cause
            return self._exchange(method, target, body, all_headers)

    def _exchange(self, method: str, target: str, body: Any, headers: dict[str, str]) -> Response:
        conn = self._conn
        fresh = conn is None or conn.sock is None
        if conn is None or conn.sock is None:
            conn = self._open()
        try:
            conn.request(method, target, body=body, headers=headers)
        except OSError as exc:
            # an upload server may refuse early and close while the body is still going out: its answer
            # explains more than the broken pipe does
            answer = self._early_answer(conn)
            if answer is not None:
                return answer
            self.close()
            if isinstance(exc, TimeoutError):
                raise ReadTimedOut(reason_of(exc)) from None
            if not fresh and isinstance(exc, (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)):
                raise _Stale(exc) from None
            raise ConnectionBroken(reason_of(exc)) from None
        return self._read(conn, fresh)

    def _read(self, conn: http.client.HTTPConnection, fresh: bool) -> Response:
        try:
            response = conn.getresponse()
        except TimeoutError as exc:
            self.close()
            raise ReadTimedOut(reason_of(exc)) from None
        except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError) as exc:  # incl. RemoteDisconnected
            self.close()
            if not fresh:
                raise _Stale(exc) from None
            raise ConnectionBroken(reason_of(exc)) from None
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise ConnectionBroken(reason_of(exc)) from None
        try:
            data = response.read()
        except TimeoutError as exc:
            self.close()
            raise ReadTimedOut(reason_of(exc)) from None
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise ConnectionBroken(reason_of(exc)) from None
        if response.will_close:
            self.close()
        return Response(response.status, response.reason, response.headers, _decoded(data, response.headers))

    def _early_answer(self, conn: http.client.HTTPConnection) -> Response | None:
        """The answer a server sent before it stopped reading our body, if it is already here."""
        sock = conn.sock
        if sock is None:
            return None
        try:
            sock.settimeout(min(self.read_timeout, 2.0))
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            return None
        self.close()
        return Response(response.status, response.reason, response.headers, _decoded(data, response.headers))

    def _open(self) -> http.client.HTTPConnection:
        """Connect (through the proxy, then TLS for https) within the connect timeout."""
        self.close()
        proxy = _parse_proxy(self.proxy_url) if self.proxy_url is not None else None
        host, port = (proxy.host, proxy.port) if proxy else (self.host, self.port)
        if self.scheme == "https":
            from .tls import context_for

            try:
                context = context_for(self.verify)
            except OSError as exc:  # ssl.SSLError is an OSError: an unusable CA file
                raise TlsFailed(str(exc)[:300] or type(exc).__name__) from exc
            conn: http.client.HTTPConnection = _https_connection_class()(
                host, port, timeout=self.connect_timeout, context=context)
        else:
            conn = _HTTPConnection(host, port, timeout=self.connect_timeout)
        conn.read_timeout = self.read_timeout  # type: ignore[attr-defined]
        if proxy is not None and self.scheme == "https":
            tunnel_headers = {"Host": f"{self.host}:{self.port}"}  # Python 3.11 sends none (HTTP/1.0 CONNECT)
            if proxy.authorization:
                tunnel_headers["Proxy-Authorization"] = proxy.authorization
            conn.set_tunnel(self.host, self.port, headers=tunnel_headers)
        try:
            conn.connect()
        except BaseException as exc:
            conn.close()
            raise _connect_failure(exc, proxy is not None) from _ssl_only(exc)
        self.opened += 1
        self._conn = conn
        return conn


def _ssl_only(exc: BaseException) -> BaseException | None:
    """Chain only TLS errors (their details explain the failure); other causes add nothing."""
    ssl = sys.modules.get("ssl")
    return exc if ssl is not None and isinstance(exc, ssl.SSLError) else None


def _connect_failure(exc: BaseException, via_proxy: bool) -> BaseException:
    ssl = sys.modules.get("ssl")
    if ssl is not None and isinstance(exc, ssl.SSLError):
        return TlsFailed(str(exc)[:300] or type(exc).__name__)
    if isinstance(exc, TimeoutError):
        return ConnectTimedOut(reason_of(exc))
    if via_proxy and isinstance(exc, OSError) and str(exc).startswith("Tunnel connection failed"):
        return ProxyFailed(str(exc)[:300])  # the proxy's own status line, e.g. "407 Proxy Authentication Required"
    if via_proxy and isinstance(exc, OSError):
        return ProxyFailed(f"cannot connect to the proxy: {reason_of(exc)}")
    if isinstance(exc, (OSError, http.client.HTTPException)):
        return ConnectFailed(reason_of(exc))
    return exc  # KeyboardInterrupt and friends


def _dropped(sock: socket.socket) -> bool:
    """An idle kept-alive socket that is readable has been closed by the server (or sent junk)."""
    import select

    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _decoded(data: bytes, headers: http.client.HTTPMessage) -> bytes:
    encoding = (headers.get("Content-Encoding") or "").strip().lower()
    if encoding not in ("gzip", "deflate") or not data:
        return data
    import zlib

    try:
        if encoding == "gzip":
            return zlib.decompress(data, 16 + zlib.MAX_WBITS)
        try:
            return zlib.decompress(data)
        except zlib.error:
            return zlib.decompress(data, -zlib.MAX_WBITS)  # raw deflate, as some servers send
    except zlib.error as exc:
        raise ConnectionBroken(f"undecodable {encoding} answer: {exc}") from None


# -- proxies --------------------------------------------------------------------------------------


def _parse_proxy(url: str) -> _Proxy:
    if "://" not in url:
        url = "http://" + url  # requests' prepend_scheme_if_needed
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ProxyFailed(f"unsupported proxy URL scheme '{parts.scheme}' (only http:// proxies are supported)")
    auth = basic_auth(unquote(parts.username), unquote(parts.password or "")) if parts.username else None
    return _Proxy(parts.hostname, parts.port or 80, auth)
