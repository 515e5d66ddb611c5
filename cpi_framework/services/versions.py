"""What the cloud's CloudStack version offers, learnt without a request on modern clouds.

The CPI always sends the modern command first. Only when the cloud refuses it the way a server
answers a command it does not have - 432 "does not exist" up to 4.10, the 401 of wrong keys from
4.11 (``ApiServer.verifyRequest``; the client has then made its key probe already, whose answer is
reused) - does it read ``listCapabilities`` (at most one request per call) for its
``cloudstackversion``: older than the command's release means *missing*, and the caller takes the
route that version offers; otherwise the refusal stands (the role denies it, or the keys are
really wrong). ``cloudstack.version`` in the config skips even that: the routes then follow the
configured version and nothing is probed. Why no cache across CPI processes: docs/performance.md.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cpi_framework.cloudstack import ApiError
    from cpi_framework.context import CallContext

Version = tuple[int, ...]

COMMANDS_SINCE: dict[str, Version] = {
    "getUploadParamsForTemplate": (4, 6),  # GetUploadParamsForTemplateCmd @APICommand(since = "4.6.0")
    "changeOfferingForVolume": (4, 17),  # ChangeOfferingForVolumeCmd @APICommand(since = "4.17")
}
"""Commands the CPI prefers that older releases lack, with the release that added them."""

OLDEST_SUPPORTED: Version = (4, 5)
_VERSION = re.compile(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?(?:\.(\d+))?")
_CACHE_KEY = ("versions", "cloudstackversion")


def parse_version(text: str | None) -> Version | None:
    """``"4.11.3.0"`` -> ``(4, 11, 3, 0)``; None for anything else."""
    m = _VERSION.match(str(text or ""))
    return tuple(int(g) for g in m.groups() if g is not None) if m else None


def show(version: Version | None) -> str:
    return ".".join(map(str, version)) if version else "unknown"


def configured(ctx: CallContext) -> Version | None:
    """The operator's ``cloudstack.version``, when set."""
    return parse_version(getattr(ctx.config.cloudstack, "version", None))


def offers(ctx: CallContext, command: str) -> bool | None:
    """Whether the configured version has ``command``; None (just try it) without ``cloudstack.version``."""
    version = configured(ctx)
    if version is None or command not in COMMANDS_SINCE:
        return None
    return version >= COMMANDS_SINCE[command]


def cloud_version(ctx: CallContext) -> Version | None:
    """``cloudstack.version``, else ``listCapabilities``' ``cloudstackversion`` (one request, once per call)."""
    version = configured(ctx)
    if version is not None:
        return version
    if _CACHE_KEY not in ctx.cache:
        answer = getattr(ctx.client, "capabilities", None) or ctx.client.call("listCapabilities")  # reuse the key probe
        capability = answer.get("capability") or {}
        ctx.cache[_CACHE_KEY] = parse_version(capability.get("cloudstackversion"))
    return ctx.cache[_CACHE_KEY]


def looks_unknown(exc: ApiError) -> bool:
    """The answer a server gives to a command it does not have: 432 "does not exist" (4.5-4.10) or 401 (4.11+)."""
    if exc.errorcode == 401 or exc.http_status == 401:
        return True
    return exc.errorcode == 432 and "does not exist" in (exc.errortext or "")


def missing(ctx: CallContext, command: str, exc: ApiError) -> bool:
    """True when ``exc`` is the cloud saying it does not have ``command`` because its version predates it.

    Costs one ``listCapabilities`` on the failure path only. When that fails too (the keys really are
    wrong), the original error stands: False.
    """
    from cpi_framework.cloudstack import CloudStackError

    if command not in COMMANDS_SINCE or not looks_unknown(exc):
        return False
    try:
        version = cloud_version(ctx)
    except CloudStackError:
        return False
    if version is None:
        return False
    if version < COMMANDS_SINCE[command]:
        ctx.log.info("CloudStack %s has no %s (added in %s): taking the route this version offers", show(version),
                     command, show(COMMANDS_SINCE[command]))
        return True
    return False
