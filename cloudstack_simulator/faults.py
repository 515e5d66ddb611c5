"""Fault injection: what a real cloud does on a bad day, on demand.

Every fault is keyed by API command name (case-sensitive, as the server matches it) and
counts down; ``clear()`` removes them all.  The same operations are reachable over HTTP
(``POST /_sim/faults``), see ``admin.py``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from .errors import ApiError


@dataclass
class _Counted:
    n: int
    payload: dict[str, Any]


class Faults:
    """Thread-safe registry of pending faults."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fail_next: dict[str, list[_Counted]] = {}
        self._fail_jobs: dict[str, list[_Counted]] = {}
        self._hang: dict[str, int] = {}
        self._drop: dict[str, int] = {}
        self._durations: dict[str, float] = {}
        self._template_errors: list[_Counted] = []
        self._rps: float | None = None
        self._window_start = 0.0
        self._window_count = 0

    # -- configuration (public API) ------------------------------------------------------
    def fail_next(self, command: str, n: int = 1, errorcode: int = 530,
                  errortext: str = "Simulated failure", http_status: int | None = None) -> None:
        """The next ``n`` calls of ``command`` answer an API error (nothing is executed)."""
        with self._lock:
            self._fail_next.setdefault(command, []).append(_Counted(n, {
                "errorcode": errorcode, "errortext": errortext, "http_status": http_status}))

    def fail_jobs(self, command: str, n: int = 1, errorcode: int = 530,
                  errortext: str = "Simulated job failure") -> None:
        """The next ``n`` async jobs of ``command`` end with jobstatus 2."""
        with self._lock:
            self._fail_jobs.setdefault(command, []).append(_Counted(n, {
                "errorcode": errorcode, "errortext": errortext}))

    def job_duration(self, command: str, seconds: float) -> None:
        """Jobs of ``command`` stay pending for ``seconds`` (until ``clear``)."""
        with self._lock:
            self._durations[command] = float(seconds)

    def hang_jobs(self, command: str, n: int = 1) -> None:
        """The next ``n`` jobs of ``command`` never finish."""
        with self._lock:
            self._hang[command] = self._hang.get(command, 0) + n

    def drop_connections(self, command: str, n: int = 1) -> None:
        """The next ``n`` requests of ``command`` get the socket closed without a response."""
        with self._lock:
            self._drop[command] = self._drop.get(command, 0) + n

    def throttle(self, rps: float | None) -> None:
        """Answer 429 beyond ``rps`` requests per 1-second window (``None`` = off)."""
        with self._lock:
            self._rps = rps
            self._window_start, self._window_count = 0.0, 0

    def fail_templates(self, n: int = 1, status: str = "Failed post download script: "
                       "File type mismatch between the sent file and the actual content") -> None:
        """The next ``n`` uploads/URL registrations end in an error status (isready false)."""
        with self._lock:
            self._template_errors.append(_Counted(n, {"status": status}))

    def clear(self) -> None:
        with self._lock:
            self._fail_next.clear()
            self._fail_jobs.clear()
            self._hang.clear()
            self._drop.clear()
            self._durations.clear()
            self._template_errors.clear()
            self._rps = None

    def snapshot(self) -> dict[str, Any]:
        """What is pending, for ``GET /_sim/faults``."""
        with self._lock:
            return {
                "fail_next": {k: [dict(c.payload, n=c.n) for c in v] for k, v in self._fail_next.items() if v},
                "fail_jobs": {k: [dict(c.payload, n=c.n) for c in v] for k, v in self._fail_jobs.items() if v},
                "hang_jobs": {k: v for k, v in self._hang.items() if v},
                "drop_connections": {k: v for k, v in self._drop.items() if v},
                "job_durations": dict(self._durations),
                "fail_templates": [dict(c.payload, n=c.n) for c in self._template_errors],
                "throttle": self._rps,
            }

    # -- consumption (server side) -------------------------------------------------------
    @staticmethod
    def _take(queue: list[_Counted]) -> dict[str, Any] | None:
        while queue:
            head = queue[0]
            if head.n <= 0:
                queue.pop(0)
                continue
            head.n -= 1
            if head.n == 0:
                queue.pop(0)
            return head.payload
        return None

    def take_fail_next(self, command: str) -> ApiError | None:
        with self._lock:
            payload = self._take(self._fail_next.get(command, []))
        if payload is None:
            return None
        return ApiError(payload["errorcode"], payload["errortext"], 9999, http_status=payload["http_status"])

    def take_job_error(self, command: str) -> ApiError | None:
        with self._lock:
            payload = self._take(self._fail_jobs.get(command, []))
        return None if payload is None else ApiError(payload["errorcode"], payload["errortext"], 9999)

    def take_hang(self, command: str) -> bool:
        with self._lock:
            if self._hang.get(command, 0) > 0:
                self._hang[command] -= 1
                return True
            return False

    def take_drop(self, command: str) -> bool:
        with self._lock:
            if self._drop.get(command, 0) > 0:
                self._drop[command] -= 1
                return True
            return False

    def duration_override(self, command: str) -> float | None:
        with self._lock:
            return self._durations.get(command)

    def take_template_error(self) -> str | None:
        with self._lock:
            payload = self._take(self._template_errors)
        return None if payload is None else payload["status"]

    def throttled(self, configured_rps: float | None) -> int | None:
        """Count one request; return the ms to wait if over the limit, else ``None``.

        Like ``ApiRateLimitServiceImpl``: a fixed window of ``api.throttling.interval`` (1 s)
        allowing ``api.throttling.max`` requests.
        """
        with self._lock:
            rps = self._rps if self._rps is not None else configured_rps
            if not rps:
                return None
            now = time.monotonic()
            if now - self._window_start >= 1.0:
                self._window_start, self._window_count = now, 0
            self._window_count += 1
            if self._window_count > rps:
                return max(1, int((self._window_start + 1.0 - now) * 1000))
            return None
