"""Request signing exactly as CloudStack's ``ApiServer.verifyRequest`` checks it.

The server sorts the parameter names *as received* (Java ``String`` order), joins
``name=URLEncoder.encode(value).replace("+", "%20")`` (names raw), lowercases the whole string,
and compares HMAC-SHA1(secret) in base64. Python's ``quote`` differs from Java's ``URLEncoder``
on ``~`` (and on ``*`` unless it is marked safe) — the bug most clients share — so values are
encoded here with :func:`cs_encode`. The client sends every plain name in lowercase, which makes
the server's order and the lowercased order identical.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

__all__ = ["EXPIRES_FORMAT", "cs_encode", "encode_query", "sign", "signed_query", "string_to_sign"]

EXPIRES_FORMAT = "%Y-%m-%dT%H:%M:%S+0000"


def cs_encode(value: str) -> str:
    """Encode like ``java.net.URLEncoder.encode(value, "UTF-8")`` with ``+`` → ``%20``."""
    return quote(value, safe="*").replace("~", "%7E")


def _java_order(name: str) -> bytes:
    # Java compares UTF-16 code units; Python compares code points (differs only above U+FFFF).
    return name.encode("utf-16-be", "surrogatepass")


def string_to_sign(params: Mapping[str, str]) -> str:
    """The lowercased string the server computes the HMAC over (``signature`` excluded)."""
    names = sorted((n for n in params if n.lower() != "signature"), key=_java_order)
    return "&".join(f"{name}={cs_encode(params[name])}" for name in names).lower()


def sign(params: Mapping[str, str], secret: str) -> str:
    """Signature for ``params`` (every parameter that will be sent, names as sent)."""
    digest = hmac.new(secret.encode("utf-8"), string_to_sign(params).encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_query(
    params: Mapping[str, str],
    api_key: str,
    secret: str,
    *,
    signature_version3: bool = True,
    expires_seconds: float = 600,
    now: datetime | None = None,
) -> dict[str, str]:
    """``params`` plus ``apikey``, ``response=json``, v3 ``expires`` and the ``signature``.

    Call it again for every attempt: a retry needs a fresh ``expires`` and so a new signature.
    """
    query = dict(params)
    query["apikey"] = api_key
    query.setdefault("response", "json")
    if signature_version3:
        moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
        query["signatureversion"] = "3"
        query["expires"] = (moment + timedelta(seconds=expires_seconds)).strftime(EXPIRES_FORMAT)
    query["signature"] = sign(query, secret)
    return query


def encode_query(params: Mapping[str, str]) -> str:
    """Wire form (query string or form body): names and values percent-encoded.

    Values use the same encoding as the signature, so what is signed is literally what is sent;
    names are encoded too (``[``/``]`` → ``%5B``/``%5D``), which servlet containers decode.
    """
    return "&".join(f"{quote(name, safe='')}={cs_encode(value)}" for name, value in params.items())
