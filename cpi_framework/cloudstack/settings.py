"""Client settings and request accounting (plain values, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["MAX_THROTTLE_WAIT", "ClientSettings", "RequestStats"]

MAX_THROTTLE_WAIT = 1200.0
"""Upper bound (seconds) on waiting out throttling for one call, whatever its job timeout."""


@dataclass(frozen=True)
class ClientSettings:
    """Everything the client needs to reach one CloudStack endpoint.

    ``verify`` is ``True`` or a CA bundle path (the caller writes ``cloudstack.ca_cert`` to a
    file); ``False`` disables verification and should only ever be a deliberate choice.
    ``job_timeout`` bounds an async wait when the call gives no timeout; ``read_retries`` bounds
    retries of read-only commands after transport faults and 5xx answers.
    """

    endpoint: str
    api_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    verify: bool | str = True
    proxies: dict[str, str] | None = field(default=None, repr=False)
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    job_timeout: float = 1200.0
    signature_version3: bool = True
    expires_seconds: int = 600
    debug: bool = False
    read_retries: int = 3
    get_max_bytes: int = 4096
    user_agent: str = "cpi-framework-cloudstack-client"

    def __post_init__(self) -> None:
        if not self.endpoint.startswith(("http://", "https://")):
            raise ValueError("CloudStack endpoint must be an http(s) URL, e.g. https://host:8080/client/api")
        if "?" in self.endpoint:
            raise ValueError("CloudStack endpoint must not carry a query string")
        if self.job_timeout <= 0 or self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise ValueError("CloudStack timeouts must be positive")
        if not 0 < self.expires_seconds <= 900:
            # servers enforcing timestamps reject an expiry more than 15 minutes ahead
            raise ValueError("CloudStack signature expiry must be between 1 and 900 seconds")


@dataclass
class RequestStats:
    """Counts what the client cost: requests per command, polls, and time spent sleeping.

    ``wait_seconds`` is time slept on purpose (job polling, throttling, retry backoff), not
    time spent inside HTTP requests.
    """

    counts: dict[str, int] = field(default_factory=dict)
    wait_seconds: float = 0.0
    polls: int = 0
    throttled: int = 0
    retries: int = 0

    @property
    def total_requests(self) -> int:
        return sum(self.counts.values())

    def count(self, command: str) -> None:
        self.counts[command] = self.counts.get(command, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "counts": dict(sorted(self.counts.items())),
            "total_requests": self.total_requests,
            "wait_seconds": round(self.wait_seconds, 3),
            "polls": self.polls,
            "throttled": self.throttled,
            "retries": self.retries,
        }
