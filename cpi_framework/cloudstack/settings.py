"""Client settings and request accounting (plain values, no I/O)."""

from typing import Any, NamedTuple

__all__ = ["MAX_THROTTLE_WAIT", "ClientSettings", "RequestStats"]

MAX_THROTTLE_WAIT = 1200.0
"""Upper bound (seconds) on waiting out throttling for one call, whatever its job timeout."""


class _Fields(NamedTuple):
    endpoint: str
    api_key: str
    secret_key: str
    verify: bool | str = True
    proxies: dict[str, str] | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    job_timeout: float = 1200.0
    signature_version3: bool = True
    expires_seconds: int = 600
    debug: bool = False
    read_retries: int = 3
    get_max_bytes: int = 4096
    user_agent: str = "cpi-framework-cloudstack-client"


class ClientSettings(_Fields):
    """Everything the client needs to reach one CloudStack endpoint (immutable; ``_replace`` copies).

    ``verify`` is ``True`` or a CA bundle path (the caller writes ``cloudstack.ca_cert`` to a
    file); ``False`` disables verification and should only ever be a deliberate choice.
    ``job_timeout`` bounds an async wait when the call gives no timeout; ``read_retries`` bounds
    retries of read-only commands after transport faults and 5xx answers. A named tuple, not a
    dataclass: every call that talks to CloudStack builds one, and ``dataclasses`` costs its
    ``inspect`` import; its repr leaves out the keys and the proxies (which may hold credentials).
    """

    __slots__ = ()

    def __new__(cls, *args: Any, **kwargs: Any) -> "ClientSettings":  # noqa: UP037 - named tuples evaluate annotations
        self = super().__new__(cls, *args, **kwargs)
        if not self.endpoint.startswith(("http://", "https://")):
            raise ValueError("CloudStack endpoint must be an http(s) URL, e.g. https://host:8080/client/api")
        if "?" in self.endpoint:
            raise ValueError("CloudStack endpoint must not carry a query string")
        if self.job_timeout <= 0 or self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise ValueError("CloudStack timeouts must be positive")
        if not 0 < self.expires_seconds <= 900:
            # servers enforcing timestamps reject an expiry more than 15 minutes ahead
            raise ValueError("CloudStack signature expiry must be between 1 and 900 seconds")
        return self

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields
                          if name not in ("api_key", "secret_key", "proxies"))
        return f"ClientSettings({shown})"


class RequestStats:
    """Counts what the client cost: requests per command, polls, and time spent sleeping.

    ``wait_seconds`` is time slept on purpose (job polling, throttling, retry backoff), not
    time spent inside HTTP requests.
    """

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.wait_seconds = 0.0
        self.polls = 0
        self.throttled = 0
        self.retries = 0

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
