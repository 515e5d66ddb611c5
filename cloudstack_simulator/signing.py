"""Request signature verification, written from the management server's algorithm.

``ApiServer.verifyRequest``: sort the parameter names *as sent*
(Java ``String`` order), skip ``signature``, join ``name=URLEncoder(value)`` with ``&``
(names not encoded, ``+`` -> ``%20``), lowercase the whole string, HMAC-SHA1 with the
secret key, base64.  With ``signatureVersion=3`` the ``expires`` parameter is
mandatory and an expired request is rejected.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

__all__ = ["java_urlencode", "string_to_sign", "sign", "verify", "parse_expires", "ExpiresError"]


class ExpiresError(ValueError):
    """``expires`` missing, unparsable, expired or (when enforced) too far ahead."""


def java_urlencode(value: str) -> str:
    """``java.net.URLEncoder.encode(value, "UTF-8").replaceAll("\\+", "%20")``.

    Java leaves ``A-Za-z0-9 . - * _`` alone and encodes everything else, ``~`` included
    (Python's ``quote`` treats ``~`` as unreserved, Java does not).
    """
    return quote(value, safe="*").replace("~", "%7E")


def _java_sort_key(name: str) -> list[int]:
    """Java ``String.compareTo`` order: UTF-16 code units, case-sensitive."""
    return list(name.encode("utf-16-be"))


def string_to_sign(params: dict[str, str]) -> str:
    """The lowercased string the server signs: every parameter except ``signature``."""
    names = sorted((n for n in params if n.lower() != "signature"), key=_java_sort_key)
    return "&".join(f"{n}={java_urlencode(params[n])}" for n in names).lower()


def sign(params: dict[str, str], secret: str) -> str:
    """Base64 HMAC-SHA1 of :func:`string_to_sign` keyed with ``secret``."""
    digest = hmac.new(secret.encode("utf-8"), string_to_sign(params).encode("utf-8"), hashlib.sha1)
    return base64.b64encode(digest.digest()).decode("ascii")


def verify(params: dict[str, str], secret: str) -> bool:
    """Constant-time comparison of the sent ``signature`` with the expected one."""
    sent = next((v for k, v in params.items() if k.lower() == "signature"), None)
    if not sent:
        return False
    return hmac.compare_digest(sign(params, secret).encode(), sent.encode())


# DateUtil.parseTZDateString (the ISO formats, versions.RULES["expires_iso_formats"]) tries, in order:
# ISO_OFFSET_DATE_TIME (seconds and a 0-9 digit fraction optional; offset Z, +hh, +hh:mm or +hh:mm:ss),
# "yyyy-MM-dd'T'HH:mm:ssZ" (+hhmm), ISO_INSTANT, "...ss.SSSSSSX" / "...ss.SSSSSSZ" (exactly six digits),
# "...ss.SSSSSS'Z'" (never yields an offset) and "...ss'Z'Z". Each pattern below was checked against
# the JDK's own parsers on 101 samples (accepted or not, and the instant).
_DATE = r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})"
_ISO_FORMATS = (
    re.compile(_DATE + r"(?::(\d{2})(?:\.(\d{0,9}))?)?([Zz]|[+-]\d{2}(?::\d{2}(?::\d{2})?)?)$"),
    re.compile(_DATE + r":(\d{2})()Z?([+-]\d{4})$"),
    re.compile(_DATE + r":(\d{2})\.(\d{6})(Z|[+-]\d{2}(?:\d{2})?)$"),
)


def _offset(text: str) -> timedelta:
    if text in ("Z", "z"):
        return timedelta(0)
    digits = text[1:].replace(":", "")
    hours, minutes, seconds = int(digits[:2]), int(digits[2:4] or 0), int(digits[4:6] or 0)
    return (1 if text[0] == "+" else -1) * timedelta(hours=hours, minutes=minutes, seconds=seconds)


def parse_expires(text: str) -> datetime:
    """Parse like ``DateUtil.parseTZDateString`` of current servers (see ``_ISO_FORMATS``)."""
    for pattern in _ISO_FORMATS:
        m = pattern.match(text)
        if m:
            y, mo, d, h, mi, s, frac, tz = m.groups()
            micro = int((frac or "0").ljust(6, "0")[:6])
            return datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0), micro,
                            tzinfo=timezone(_offset(tz)))
    raise ExpiresError(f"unparsable expires {text!r}")


# ApiServer up to 4.11: SimpleDateFormat("yyyy-MM-dd'T'HH:mm:ssZ").parse - an RFC 822 offset (+0000) or a
# GMT+hh:mm zone, nothing else ("Z", "+00:00" and fractions fail; checked against the JDK's own parser).
# SimpleDateFormat is lenient: one-digit fields, blanks before the zone and text after it pass.
_SIMPLE = re.compile(r"^(\d{1,4})-(\d{1,2})-(\d{1,2})T(\d{1,2}):(\d{1,2}):(\d{1,2})\s*"
                     r"(?:([+-]\d{4})|GMT([+-]\d{2}):(\d{2}))")


def parse_expires_simpledateformat(text: str) -> datetime:
    """Parse like the ``DateFormatToUse`` of ``ApiServer`` before ``DateUtil.parseTZDateString`` took over."""
    m = _SIMPLE.match(text)
    if not m:
        raise ExpiresError(f"unparsable expires {text!r}")
    y, mo, d, h, mi, s, rfc822, gmt_h, gmt_m = m.groups()
    offset = _offset(rfc822) if rfc822 else _offset(f"{gmt_h}:{gmt_m}")
    return datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=timezone(offset))


def check_expires(params: dict[str, str], now: datetime, enforce: bool = False,
                  max_ahead: timedelta = timedelta(minutes=15), iso_formats: bool = True) -> None:
    """The expiry rule: v3 needs a valid, unexpired ``expires``; ``enforce`` (the operator's
    ``enforce.post.requests.and.timestamps``) also demands v3 and caps expires at now+15 min."""
    lowered = {k.lower(): v for k, v in params.items()}
    v3 = lowered.get("signatureversion") == "3"
    if not v3:
        if enforce:
            raise ExpiresError("signatureVersion=3 and expires are required")
        return
    if "expires" not in lowered:
        raise ExpiresError("missing expires")
    expires = (parse_expires if iso_formats else parse_expires_simpledateformat)(lowered["expires"])
    if expires < now:
        raise ExpiresError("request expired")
    if enforce and expires > now + max_ahead:
        raise ExpiresError("expires too far in the future")
