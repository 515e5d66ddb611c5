"""CloudStack API client: signing, transport, async jobs, pagination, errors.

The only code that speaks HTTP to CloudStack. It knows nothing of BOSH; callers translate its
errors (:mod:`.errors`) into their own.
"""

from .client import CloudStackClient
from .errors import (
    ApiError,
    AsyncJobFailed,
    AsyncJobTimeout,
    AuthenticationError,
    CloudStackError,
    CommandUnavailable,
    ConnectTimeout,
    NotTLSError,
    ParameterError,
    ReadTimeout,
    Throttled,
    TLSError,
    TransportError,
    UnexpectedResponse,
)
from .jobs import AsyncJob, poll_interval
from .params import flatten_params, is_read_only, redact_params
from .settings import ClientSettings, RequestStats
from .signing import sign, signed_query

__all__ = [
    "ApiError",
    "AsyncJob",
    "AsyncJobFailed",
    "AsyncJobTimeout",
    "AuthenticationError",
    "CommandUnavailable",
    "ClientSettings",
    "CloudStackClient",
    "CloudStackError",
    "ConnectTimeout",
    "flatten_params",
    "is_read_only",
    "ParameterError",
    "poll_interval",
    "ReadTimeout",
    "redact_params",
    "RequestStats",
    "sign",
    "signed_query",
    "Throttled",
    "NotTLSError",
    "TLSError",
    "TransportError",
    "UnexpectedResponse",
]
