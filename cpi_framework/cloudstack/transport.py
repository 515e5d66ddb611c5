"""One signed HTTP exchange with CloudStack, plus the only retries that are safe.

* Throttling (HTTP 429 / the "api limit" error) is retried for *every* command: the server
  rejected the request before executing it. Waits follow ``Retry-After`` or the server's
  "retry after [N] ms", else 1 s doubling to 30 s, within the caller's deadline.
* Transport faults, non-API 5xx pages and API 530/503 are retried only for read-only commands.
  A mutating command that loses its answer raises :class:`TransportError`: the caller reads
  back state (by id or tag) instead of risking a double create.
* Every attempt is signed afresh (new ``expires``), and nothing secret reaches a message or log.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from .connection import (
    ConnectFailed,
    Connection,
    ConnectionBroken,
    ConnectTimedOut,
    HttpFailure,
    ProxyFailed,
    ReadTimedOut,
    TlsFailed,
)
from .errors import CloudStackError, ConnectTimeout, NotTLSError, ReadTimeout, Throttled, TLSError, TransportError
from .params import is_read_only, redact_params, scrub
from .responses import is_transient, parse_response
from .settings import ClientSettings, RequestStats
from .signing import encode_query, signed_query

if TYPE_CHECKING:
    import logging

__all__ = ["Transport"]

THROTTLE_FIRST_DELAY = 1.0
THROTTLE_MAX_DELAY = 30.0
THROTTLE_JITTER = 0.5  # up to +50 %: a retry never comes earlier than the server asked
RETRY_FIRST_DELAY = 0.5
RETRY_MAX_DELAY = 8.0


def _public_endpoint(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class Transport:
    """Sends one command (with safe retries) and returns the unwrapped response object."""

    def __init__(
        self,
        settings: ClientSettings,
        *,
        connection: Connection,
        logger: logging.Logger | Any,  # or a LazyLogger
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        stats: RequestStats,
        now: Callable[[], datetime] | None = None,
        jitter: Callable[[], float] | None = None,
    ) -> None:
        self.settings = settings
        self.connection = connection
        self._path = urlsplit(settings.endpoint).path or "/"
        self.logger = logger
        self.clock = clock
        self._sleep = sleep
        self.stats = stats
        self._now = now or (lambda: datetime.now(timezone.utc))
        self._random: Callable[[], float] = jitter or random.random  # in [0, 1); tests pin it
        self.endpoint = _public_endpoint(settings.endpoint)
        self._secrets: tuple[str, ...] = (settings.api_key, settings.secret_key)

    def pause(self, seconds: float) -> None:
        """Sleep on purpose, and account for it."""
        if seconds > 0:
            self.stats.wait_seconds += seconds
            self._sleep(seconds)

    def request(self, command: str, params: dict[str, str], *, post: bool | None, deadline: float) -> dict[str, Any]:
        """Send ``command``; retry throttling (any command) and faults (reads) until ``deadline``."""
        started = self.clock()
        read_only = is_read_only(command)
        throttle_delay = THROTTLE_FIRST_DELAY
        retries = 0
        while True:
            try:
                return self._send_once(command, params, post=post, read_only=read_only)
            except Throttled as exc:
                self.stats.throttled += 1
                remaining = deadline - self.clock()
                if remaining <= 0:
                    waited = self.clock() - started
                    raise Throttled(
                        command,
                        exc.errortext,
                        waited=waited,
                        http_status=exc.http_status,
                        errorcode=exc.errorcode,
                        cserrorcode=exc.cserrorcode,
                        hint=f"still throttled after waiting {waited:.1f}s",
                    ) from None
                delay = exc.retry_after if exc.retry_after is not None else throttle_delay
                # spread the retries of many CPI processes throttled at once, or they come back
                # together and are refused together (measured: one refusal per accepted request)
                delay *= 1 + THROTTLE_JITTER * self._random()
                delay = min(max(delay, 0.1), THROTTLE_MAX_DELAY, remaining)
                throttle_delay = min(throttle_delay * 2, THROTTLE_MAX_DELAY)
                self.logger.info("CloudStack throttled %s (%s); waiting %.1fs", command, exc.errortext, delay)
                self.pause(delay)
            except CloudStackError as exc:
                if not read_only or not is_transient(exc) or retries >= self.settings.read_retries:
                    raise
                delay = min(RETRY_FIRST_DELAY * 2**retries, RETRY_MAX_DELAY)
                if self.clock() + delay > deadline:
                    raise
                retries += 1
                self.stats.retries += 1
                self.logger.warning(
                    "CloudStack %s failed (%s); retry %d/%d in %.1fs",
                    command,
                    exc,
                    retries,
                    self.settings.read_retries,
                    delay,
                )
                self.pause(delay)

    def _send_once(self, command: str, params: dict[str, str], *, post: bool | None, read_only: bool) -> dict:
        settings = self.settings
        query = signed_query(
            {"command": command, **params},
            settings.api_key,
            settings.secret_key,
            signature_version3=settings.signature_version3,
            expires_seconds=settings.expires_seconds,
            now=self._now(),
        )
        secrets = (*self._secrets, query["signature"], quote(query["signature"], safe=""))
        body = encode_query(query)
        use_post = (not read_only) if post is None else post
        if not use_post and len(body) > settings.get_max_bytes:
            use_post = True
        method = "POST" if use_post else "GET"
        self.stats.count(command)
        if settings.debug:
            self.logger.debug("CloudStack %s %s %s", method, command, redact_params(params))
        headers = {"User-Agent": settings.user_agent, "Accept": "application/json"}
        started = time.monotonic()
        failure: TransportError | None = None
        try:
            if use_post:
                headers["Content-Type"] = "application/x-www-form-urlencoded; charset=UTF-8"
                response = self.connection.request(
                    "POST", self._path, body=body.encode("ascii"), headers=headers, idempotent=read_only)
            else:
                response = self.connection.request("GET", f"{self._path}?{body}", headers=headers, idempotent=read_only)
        except HttpFailure as exc:
            failure = self._transport_error(command, exc, secrets, read_only)
        if failure is not None:
            # raised outside the handler: the transport exception must not ride along as __context__
            # into tracebacks or error reporters
            raise failure
        text = response.text
        if settings.debug:
            self.logger.debug(
                "CloudStack %s -> HTTP %d, %d bytes in %.3fs",
                command,
                response.status,
                len(response.body),
                time.monotonic() - started,
            )
        return parse_response(
            command,
            status=response.status,
            headers=response.headers,
            text=text,
            endpoint=self.endpoint,
            secrets=secrets,
        )

    def _transport_error(
        self,
        command: str,
        exc: HttpFailure,
        secrets: tuple[str, ...],
        read_only: bool,
    ) -> TransportError:
        """Map a connection failure to ours, with a scrubbed, short reason (never the signed URL)."""
        reason = scrub(exc.reason, secrets)
        where = self.endpoint
        unknown = "" if read_only or not exc.sent else f"; {command} may or may not have taken effect"
        s = self.settings
        if isinstance(exc, TlsFailed):
            return _tls_error(command, where, exc, reason)
        if isinstance(exc, ConnectTimedOut):
            return ConnectTimeout(
                f"{command}: could not connect to {where} within {s.connect_timeout:g}s",
                command=command,
                endpoint=where,
            )
        if isinstance(exc, ReadTimedOut):
            return ReadTimeout(
                f"{command}: no answer from {where} within {s.read_timeout:g}s{unknown}",
                command=command,
                endpoint=where,
            )
        if isinstance(exc, ProxyFailed):
            return TransportError(f"{command}: proxy error reaching {where}: {reason}", command=command, endpoint=where)
        kind = "connection to" if isinstance(exc, (ConnectFailed, ConnectionBroken)) else "request to"
        return TransportError(f"{command}: {kind} {where} failed: {reason}{unknown}", command=command, endpoint=where)


# OpenSSL's reasons when the peer's first bytes are not a TLS record: a plain-HTTP answer
# ("HTTP/1.1 400") read as a record header (1.1: WRONG_VERSION_NUMBER; 3.x may also say
# "record layer failure" or "packet length too long").
_NOT_TLS = ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "HTTP_REQUEST")


_BAD_CA = ("NO_CERTIFICATE_OR_CRL_FOUND", "PEM_LIB", "NO_START_LINE", "BAD_BASE64_DECODE")


def _tls_error(command: str, where: str, exc: BaseException, raw: str) -> TLSError:
    """Name the real cause in the operator's words, without the transport library's internals."""
    import ssl

    from .tls import ssl_cause

    cause = ssl_cause(exc)
    reason = str(getattr(cause, "reason", "") or "").upper()
    if any(marker in reason or marker.replace("_", " ").lower() in raw.lower() for marker in _NOT_TLS):
        return NotTLSError(
            f"{command}: {where} is an https:// endpoint, but the server there answered in plain HTTP, "
            "not TLS; use http:// if the server has no TLS, or the port on which it serves HTTPS",
            command=command, endpoint=where)
    if isinstance(cause, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in raw:
        detail = getattr(cause, "verify_message", None) or "the server's certificate is not trusted"
        return TLSError(
            f"{command}: TLS certificate verification failed for {where}: {detail}; if the server uses a "
            "self-signed or private CA certificate, set cloudstack.ca_cert to that CA (PEM)",
            command=command, endpoint=where)
    detail = str(getattr(cause, "reason", None) or "").replace("_", " ").lower() or "no details"
    if reason in _BAD_CA or "PEM" in str(cause):  # raised while loading the CA file, before any connection
        return TLSError(f"{command}: cloudstack.ca_cert holds no usable PEM CA certificate ({detail}); put the "
                        "PEM text (-----BEGIN CERTIFICATE-----…) of the CA that signed the server's certificate there",
                        command=command, endpoint=where)
    return TLSError(f"{command}: TLS handshake with {where} failed ({detail})", command=command, endpoint=where)
