"""Errors raised by the CloudStack client.

One root, so callers can catch everything the client raises; the branches say what the caller
may do next (retry, read back state, fix the config)::

    * CloudStackError(Exception)        .command
      x TransportError                  no usable HTTP answer: refused/reset, TLS, proxy
        + ConnectTimeout                the connection was never made (the request was not sent)
        + ReadTimeout                   sent, no answer in time (a mutation may have happened)
        + TLSError                      certificate verification failed (hint: cloudstack.ca_cert)
          + NotTLSError                 an https:// endpoint whose server answered in plain HTTP
      x ApiError                        the API answered an error: .http_status .errorcode
        |                               .cserrorcode .errortext, .is_not_found
        + AuthenticationError           401: bad key/signature, expired signature, disabled key
        + CommandUnavailable            401 for one command while the keys work: no such command here
        + ParameterError                431: bad or missing parameter, unknown entity
        + Throttled                     429 still returned when the throttle deadline ran out
      x AsyncJobFailed                  jobstatus 2 (or any non-0/1): .job_id .errorcode .errortext
      x AsyncJobTimeout                 the job did not finish before its deadline: .job_id .waited
      x UnexpectedResponse              not a CloudStack answer (proxy HTML, 502 page, odd JSON)

Messages carry the command and the server's text. They never carry the API key, the secret
key, a signature or a signed URL: the client scrubs transport texts before building them.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "ApiError",
    "AsyncJobFailed",
    "AsyncJobTimeout",
    "AuthenticationError",
    "CloudStackError",
    "CommandUnavailable",
    "ConnectTimeout",
    "ParameterError",
    "ReadTimeout",
    "NotTLSError",
    "TLSError",
    "Throttled",
    "TransportError",
    "UnexpectedResponse",
    "looks_not_found",
]

# Real server texts for a missing entity: "Unable to execute API command ... Invalid parameter id
# value=<uuid> due to incorrect long value format, or entity does not exist ...",
# "Unable to find service offering: 104", "Unable to find VM by id", "... does not exist".
_NOT_FOUND = re.compile(
    r"entity does not exist|does not exist|doesn't exist|unable to find|could not find|not found",
    re.IGNORECASE,
)
# "Unable to find suitable host/storage pool" is a capacity problem, not a missing entity.
_NOT_FOUND_EXCEPT = re.compile(r"suitable|capacity|deployment destination", re.IGNORECASE)


def looks_not_found(text: str | None) -> bool:
    """Whether a server error text says the referenced entity does not exist."""
    if not text:
        return False
    return bool(_NOT_FOUND.search(text)) and not _NOT_FOUND_EXCEPT.search(text)


class CloudStackError(Exception):
    """Root of everything the client raises; ``command`` is the API command involved."""

    def __init__(self, message: str, *, command: str | None = None) -> None:
        super().__init__(message)
        self.command = command

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class TransportError(CloudStackError):
    """No usable HTTP answer. For a mutating command the outcome is unknown: read back state."""

    def __init__(self, message: str, *, command: str | None = None, endpoint: str | None = None) -> None:
        super().__init__(message, command=command)
        self.endpoint = endpoint


class ConnectTimeout(TransportError):
    """The TCP/TLS connection was not established in time; the request was never sent."""


class ReadTimeout(TransportError):
    """The request was sent but no answer came in time; a mutation may have taken effect."""


class TLSError(TransportError):
    """The server certificate could not be verified (self-signed or private CA)."""


class NotTLSError(TLSError):
    """An ``https://`` endpoint whose server speaks plain HTTP: no certificate is involved."""


class ApiError(CloudStackError):
    """The API answered with an error object (``errorcode``/``cserrorcode``/``errortext``)."""

    def __init__(
        self,
        command: str,
        errortext: str,
        *,
        http_status: int | None = None,
        errorcode: int | None = None,
        cserrorcode: int | None = None,
        hint: str | None = None,
    ) -> None:
        code = errorcode if errorcode is not None else http_status
        message = f"{command}: {errortext} (errorcode {code})"
        if hint:
            message = f"{message}; {hint}"
        super().__init__(message, command=command)
        self.http_status = http_status
        self.errorcode = code
        self.cserrorcode = cserrorcode
        self.errortext = errortext

    @property
    def is_not_found(self) -> bool:
        """True when the text shows the entity does not exist (431 and friends)."""
        return looks_not_found(self.errortext)


class AuthenticationError(ApiError):
    """401: wrong API/secret key, signature mismatch, expired ``expires``, disabled key."""


class CommandUnavailable(ApiError):
    """The server refused one command with 401 although the same keys work for another: the command
    does not exist on this CloudStack (current servers answer an unknown command like a bad signature,
    ``ApiServer.verifyRequest``) or the account may not call it. Never a key problem."""


class ParameterError(ApiError):
    """431: a parameter is missing or invalid, or refers to an entity that does not exist."""


class Throttled(ApiError):
    """The API kept answering 429 (rate limit) until the throttle deadline ran out."""

    def __init__(
        self,
        command: str,
        errortext: str,
        *,
        waited: float = 0.0,
        retry_after: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(command, errortext, **kwargs)
        self.waited = waited
        self.retry_after = retry_after  # what the server asked for, when it said


class AsyncJobFailed(CloudStackError):
    """The async job ended in failure; ``errortext`` is the server's reason."""

    def __init__(
        self,
        command: str,
        job_id: str,
        *,
        errorcode: int | None,
        errortext: str,
        jobresult: Any = None,
        object_id: str | None = None,
    ) -> None:
        super().__init__(f"{command}: job {job_id} failed: {errortext} (errorcode {errorcode})", command=command)
        self.job_id = job_id
        self.errorcode = errorcode
        self.errortext = errortext
        self.jobresult = jobresult
        self.object_id = object_id

    @property
    def is_not_found(self) -> bool:
        return looks_not_found(self.errortext)


class AsyncJobTimeout(CloudStackError):
    """The job did not finish before the deadline. It may still finish: read back state later."""

    def __init__(
        self,
        job_id: str,
        command: str,
        waited: float,
        *,
        operation: str | None = None,
        object_id: str | None = None,
    ) -> None:
        what = f"{command} ({operation})" if operation else command
        super().__init__(
            f"{what}: job {job_id} still running after {waited:.1f}s; giving up waiting "
            "(the job may still complete on the server)",
            command=command,
        )
        self.job_id = job_id
        self.waited = waited
        self.operation = operation
        self.object_id = object_id


class UnexpectedResponse(CloudStackError):
    """The answer is not a CloudStack API response; usually the endpoint or a proxy is wrong."""

    def __init__(
        self,
        command: str,
        reason: str,
        *,
        http_status: int | None = None,
        endpoint: str | None = None,
        snippet: str = "",
    ) -> None:
        where = f" from {endpoint}" if endpoint else ""
        status = f"HTTP {http_status}" if http_status is not None else "no status"
        text = f"{command}: unexpected response{where} ({status}): {reason}"
        if snippet:
            text += f"; body starts {snippet!r}"
        text += "; the endpoint may be wrong (it should be the API URL, e.g. https://host:8080/client/api)"
        super().__init__(text, command=command)
        self.http_status = http_status
        self.endpoint = endpoint
        self.snippet = snippet
