"""Reading CloudStack HTTP answers: unwrap the envelope or raise the right error.

The envelope's single top-level key is taken as is, never computed from the command name
(``getUploadParamsForTemplate`` answers ``postuploadtemplateresponse``). Errors are recognised
by the ``errorcode`` in that object; anything that is not such an object (a proxy's HTML page,
a 502, JSON from another service) is an :class:`UnexpectedResponse`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import (
    ApiError,
    AuthenticationError,
    CloudStackError,
    ParameterError,
    Throttled,
    TLSError,
    TransportError,
    UnexpectedResponse,
)
from .params import scrub

__all__ = ["api_error", "is_transient", "parse_response", "retry_after"]

_THROTTLE_TEXT = re.compile(r"api limit|rate limit|request limit|too many requests", re.IGNORECASE)
_RETRY_AFTER_TEXT = re.compile(r"retry after \[?(\d+(?:\.\d+)?)\]?\s*(ms|milliseconds?|s|sec|seconds?)\b", re.I)
_AUTH_HINT = "check the API key and secret key, and that this host's clock is right (signatures expire)"
_RETRYABLE_API_CODES = {530, 503}
# BaseCmd.USER_ERROR_MESSAGE: ApiServer.handleRequest puts it in place of the real text of a 530,
# 533 or 534 (sync commands, create phase of async ones) for callers that are not root admins.
MASKED_TEXT = "Internal error executing command, please contact your system administrator"
_MASKED_HINT = ("CloudStack hides the cause from accounts that are not root admins: the management server "
                "log has it (search it for the command at this time)")


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def api_error(
    command: str,
    errortext: str,
    *,
    http_status: int | None,
    errorcode: int | None,
    cserrorcode: int | None = None,
) -> ApiError:
    """The :class:`ApiError` subclass matching the code (and, for throttling, the text)."""
    code = errorcode if errorcode is not None else http_status
    kwargs: dict[str, Any] = {"http_status": http_status, "errorcode": code, "cserrorcode": cserrorcode}
    if code == 429 or cserrorcode == 4545 or _THROTTLE_TEXT.search(errortext):
        return Throttled(command, errortext, **kwargs)
    if code == 401:
        return AuthenticationError(command, errortext, hint=_AUTH_HINT, **kwargs)
    if code == 431:
        return ParameterError(command, errortext, **kwargs)
    if errortext.strip() == MASKED_TEXT:
        return ApiError(command, errortext, hint=_MASKED_HINT, **kwargs)
    return ApiError(command, errortext, **kwargs)


def _snippet(text: str, secrets: Iterable[str]) -> str:
    return scrub(" ".join(text.split())[:160], secrets)


def parse_response(
    command: str,
    *,
    status: int,
    headers: Mapping[str, str],
    text: str,
    endpoint: str,
    secrets: Iterable[str] = (),
) -> dict[str, Any]:
    """The object under the single top-level key; raises for errors and non-API answers."""
    secrets = tuple(secrets)
    description = scrub(headers.get("X-Description", "") or "", secrets)
    try:
        body: Any = json.loads(text) if text.strip() else None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        if status in (401, 429):
            text_ = description or f"HTTP {status}"
            raise _with_hint(api_error(command, text_, http_status=status, errorcode=None), headers)
        kind = headers.get("Content-Type", "no content type")
        reason = "empty body" if not text.strip() else f"not a JSON object ({kind})"
        if 300 <= status < 400:  # redirects are not followed: they would replay signed params elsewhere
            reason = f"redirect to {scrub(headers.get('Location', '?'), secrets)}"
        raise UnexpectedResponse(
            command, reason, http_status=status, endpoint=endpoint, snippet=_snippet(text, secrets)
        )
    if len(body) != 1:
        keys = ", ".join(sorted(map(str, body))[:5]) or "none"
        raise UnexpectedResponse(
            command,
            f"expected one top-level key, got {len(body)} ({keys})",
            http_status=status,
            endpoint=endpoint,
        )
    ((_, inner),) = body.items()
    if not isinstance(inner, dict):
        raise UnexpectedResponse(
            command,
            "top-level value is not an object",
            http_status=status,
            endpoint=endpoint,
            snippet=_snippet(text, secrets),
        )
    if status >= 400 or ("errorcode" in inner and "errortext" in inner):
        errortext = scrub(str(inner.get("errortext") or description or f"HTTP {status}"), secrets)
        error = api_error(
            command,
            errortext,
            http_status=status,
            errorcode=_int(inner.get("errorcode")),
            cserrorcode=_int(inner.get("cserrorcode")),
        )
        raise _with_hint(error, headers)
    return inner


def _with_hint(error: ApiError, headers: Mapping[str, str]) -> ApiError:
    if isinstance(error, Throttled):
        error.retry_after = retry_after(headers, error.errortext)
    return error


def retry_after(headers: Mapping[str, str], text: str | None) -> float | None:
    """Seconds the server asked us to wait: ``Retry-After`` header, else "retry after [N] ms"."""
    value = headers.get("Retry-After")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass  # an HTTP-date; fall back to the text or to backoff
    match = _RETRY_AFTER_TEXT.search(text or "")
    if match:
        amount = float(match.group(1))
        return amount / 1000.0 if match.group(2).lower().startswith("m") else amount
    return None


def is_transient(exc: CloudStackError) -> bool:
    """Worth retrying for a read-only command: no answer, a non-API 5xx, or an API 530/503.

    A failed certificate check is not: it fails the same way every time, so retrying only
    delays the operator's fix (``cloudstack.ca_cert``).
    """
    if isinstance(exc, TLSError):
        return False
    if isinstance(exc, TransportError):
        return True
    if isinstance(exc, UnexpectedResponse):
        return exc.http_status is not None and exc.http_status >= 500
    if isinstance(exc, ApiError):
        return exc.errorcode in _RETRYABLE_API_CODES
    return False
