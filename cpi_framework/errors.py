"""The CPI's error tree: every error the director can receive, with its exact wire type.

::

    CpiFrameworkError                       anything this package raises on purpose
    ├── ConfigError                         bad config file / context override (names key and file)
    ├── PluginError                         plugin discovery, selection or a hook that raised
    └── BoshError                           carries ``bosh_type`` and ``ok_to_retry`` to the response
        ├── CpiError                        Bosh::Clouds::CpiError (bad request, bad arguments)
        │   ├── MethodNotImplemented        Bosh::Clouds::NotImplemented
        │   └── NotSupported                Bosh::Clouds::NotSupported
        └── CloudError                      Bosh::Clouds::CloudError (default for cloud failures)
            ├── VMNotFound                  Bosh::Clouds::VMNotFound
            ├── NetworkNotFound             Bosh::Clouds::NetworkNotFound
            └── RetriableCloudError         ok_to_retry chosen per instance
                ├── VMCreationFailed        Bosh::Clouds::VMCreationFailed
                ├── NoDiskSpace             Bosh::Clouds::NoDiskSpace
                ├── DiskNotAttached         Bosh::Clouds::DiskNotAttached
                └── DiskNotFound            Bosh::Clouds::DiskNotFound

Only the types the director's ``KNOWN_RPC_ERRORS`` lists are ever sent (bosh-director's
``Bosh::Clouds::ExternalCpi``): an unknown type becomes "Unknown CPI error" and defeats the director's
fallbacks, so ``StemcellNotFound`` and Ruby's ``InvalidCall`` deliberately do not exist here.
The mapping of any exception to a wire error lives in one place: :func:`to_wire`.
"""

from __future__ import annotations

from typing import Any, ClassVar

KNOWN_TYPES: frozenset[str] = frozenset(
    {
        "Bosh::Clouds::CpiError",
        "Bosh::Clouds::NotImplemented",
        "Bosh::Clouds::NotSupported",
        "Bosh::Clouds::CloudError",
        "Bosh::Clouds::VMNotFound",
        "Bosh::Clouds::NetworkNotFound",
        "Bosh::Clouds::NoDiskSpace",
        "Bosh::Clouds::DiskNotAttached",
        "Bosh::Clouds::DiskNotFound",
        "Bosh::Clouds::VMCreationFailed",
    }
)


class CpiFrameworkError(Exception):
    """Root of every error this package raises on purpose."""


class ConfigError(CpiFrameworkError, ValueError):
    """The config file (or a context override) is unreadable or invalid; the message names key and file."""

    def __init__(self, message: str, *, path: str | None = None, messages: Any = None) -> None:
        super().__init__(message)
        self.path = path
        self.messages = messages


class PluginError(CpiFrameworkError):
    """A plugin is missing, ambiguous, malformed, or one of its hooks raised."""


class BoshError(CpiFrameworkError):
    """An error with a BOSH wire type; subclasses set ``bosh_type`` and the ``ok_to_retry`` default."""

    bosh_type: ClassVar[str] = "Bosh::Clouds::CloudError"
    default_ok_to_retry: ClassVar[bool] = False

    def __init__(self, message: str, *, ok_to_retry: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.ok_to_retry = self.default_ok_to_retry if ok_to_retry is None else ok_to_retry


class CpiError(BoshError):
    """The request itself is wrong: malformed JSON, missing keys, wrong argument types."""

    bosh_type = "Bosh::Clouds::CpiError"


class MethodNotImplemented(CpiError):
    """The method is unknown or not offered; the director falls back where it can."""

    bosh_type = "Bosh::Clouds::NotImplemented"


class NotSupported(CpiError):
    """The method exists but cannot do this (shrink a disk, configure_networks)."""

    bosh_type = "Bosh::Clouds::NotSupported"


class CloudError(BoshError):
    """The cloud failed, or refused; the default type for anything unexpected."""

    bosh_type = "Bosh::Clouds::CloudError"


class VMNotFound(CloudError):
    """The VM CID resolves to nothing (the director tolerates this on delete_vm)."""

    bosh_type = "Bosh::Clouds::VMNotFound"


class NetworkNotFound(CloudError):
    """A managed network is missing (delete_network)."""

    bosh_type = "Bosh::Clouds::NetworkNotFound"


class RetriableCloudError(CloudError):
    """A cloud error whose ``ok_to_retry`` is decided where it is raised."""


class VMCreationFailed(RetriableCloudError):
    """create_vm failed after cleaning up; ``ok_to_retry`` makes the director retry it."""

    bosh_type = "Bosh::Clouds::VMCreationFailed"


class NoDiskSpace(RetriableCloudError):
    """The cloud has no room for the requested disk."""

    bosh_type = "Bosh::Clouds::NoDiskSpace"


class DiskNotAttached(RetriableCloudError):
    """The disk is not attached to that VM (the director tolerates it on detach_disk)."""

    bosh_type = "Bosh::Clouds::DiskNotAttached"


class DiskNotFound(RetriableCloudError):
    """The disk CID resolves to nothing (tolerated on delete_disk)."""

    bosh_type = "Bosh::Clouds::DiskNotFound"


def to_wire(exc: BaseException) -> dict[str, Any]:
    """Map any exception to the response's ``error`` object; the only place this happens.

    BoshErrors carry their own type. Config and plugin errors are the operator's to fix, so
    they are CloudErrors that do not invite a retry. Errors from the CloudStack layer that
    escaped ``methods/`` become CloudError, retryable when transient (transport, job timeout,
    throttling). Anything else is a CloudError too: the traceback goes to the log, not here.
    """
    if isinstance(exc, BoshError):
        error_type, message, retry = exc.bosh_type, exc.message, exc.ok_to_retry
    else:
        error_type, message = "Bosh::Clouds::CloudError", str(exc) or type(exc).__name__
        retry = is_transient(exc)
        if not isinstance(exc, CpiFrameworkError) and not _is_cloudstack_error(exc):
            message = f"Unexpected error: {type(exc).__name__}: {message}"
    if error_type not in KNOWN_TYPES:  # a subclass with a typo must never reach the director
        error_type = "Bosh::Clouds::CloudError"
    return {"type": error_type, "message": message, "ok_to_retry": bool(retry)}


def _is_cloudstack_error(exc: BaseException) -> bool:
    return type(exc).__module__.startswith("cpi_framework.cloudstack")


def is_transient(exc: BaseException) -> bool:
    """True for CloudStack failures worth retrying unchanged: transport, timeouts, throttling, capacity."""
    if not _is_cloudstack_error(exc):
        return False
    from cpi_framework.cloudstack import errors as cs  # imported only when a cloud error exists

    if isinstance(exc, cs.TLSError):  # a certificate problem does not fix itself
        return False
    if isinstance(exc, cs.TransportError | cs.AsyncJobTimeout | cs.Throttled):
        return True
    if isinstance(exc, cs.ApiError) and exc.http_status == 503:  # maintenance: rejected before it ran
        return True
    if isinstance(exc, cs.ApiError) and exc.errorcode in _TRANSIENT_API_CODES:
        return True
    text = (getattr(exc, "errortext", None) or str(exc)).lower()
    return any(marker in text for marker in _TRANSIENT_MARKERS)


# InsufficientCapacityException (533) and ResourceUnavailableException (534), answered at once: their
# text is replaced by "Internal error executing command…" for accounts that are not root admins
# (ApiServer.handleRequest), so the code, not the text, has to say "capacity".
_TRANSIENT_API_CODES = frozenset({533, 534})


_TRANSIENT_MARKERS = (
    "insufficient capacity",
    "insufficientservercapacity",
    "unable to create a deployment",
    "resource unavailable",
    "concurrentoperation",
    "please try again",
    "timed out",
)
