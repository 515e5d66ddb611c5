"""The CloudStack API client: sync calls, pagination, exact-name lookups, async jobs.

Knows nothing of BOSH. Time is injected (``clock``/``sleep``) so every wait is testable without
sleeping, and one persistent connection per client (:mod:`.connection`) is reused by every request.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .connection import Connection
from .errors import (
    ApiError,
    AuthenticationError,
    CloudStackError,
    CommandUnavailable,
    ParameterError,
    UnexpectedResponse,
)
from .jobs import AsyncJob, JobResult, wait_jobs
from .params import flatten_params
from .settings import MAX_THROTTLE_WAIT, ClientSettings, RequestStats
from .transport import Transport

if TYPE_CHECKING:
    import logging

__all__ = ["CloudStackClient", "LazyLogger"]

MAX_PAGES = 10_000
_KEY_PROBE = "listCapabilities"  # a read every account may call, answered without side effects


class LazyLogger:
    """A logger made on first use: most calls log nothing, and ``logging`` costs about 1x a bare
    interpreter start to import (docs/performance.md, *Call overhead*)."""

    __slots__ = ("_factory", "_logger")

    def __init__(self, factory: Callable[[], logging.Logger]) -> None:
        self._factory = factory
        self._logger: logging.Logger | None = None

    def __getattr__(self, name: str) -> Any:
        if self._logger is None:
            self._logger = self._factory()
        return getattr(self._logger, name)


def _module_logger() -> logging.Logger:
    import logging

    return logging.getLogger(__name__)


class CloudStackClient:
    """Talks to one CloudStack endpoint; see ``docs/cloudstack-client.md`` for the guarantees."""

    def __init__(
        self,
        settings: ClientSettings,
        logger: logging.Logger | LazyLogger | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        connection: Connection | None = None,
        *,
        now: Callable[[], datetime] | None = None,
        jitter: Callable[[], float] | None = None,
    ) -> None:
        self.settings = settings
        self.logger = logger if logger is not None else LazyLogger(_module_logger)
        self.clock = clock
        self._own_connection = connection is None
        self.connection = connection if connection is not None else Connection(
            settings.endpoint,
            verify=settings.verify,
            proxies=settings.proxies,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
        )
        self._stats = RequestStats()
        self.capabilities: dict[str, Any] | None = None
        """The ``listCapabilities`` answer of the key probe, when one was made (read by services.versions)."""
        self._transport = Transport(
            settings,
            connection=self.connection,
            logger=self.logger,
            clock=clock,
            sleep=sleep,
            stats=self._stats,
            now=now,
            jitter=jitter,
        )

    @property
    def stats(self) -> RequestStats:
        return self._stats

    def close(self) -> None:
        if self._own_connection:
            self.connection.close()

    def __enter__(self) -> CloudStackClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- sync calls -----------------------------------------------------------------------

    def _deadline(self, timeout: float | None) -> float:
        """Absolute deadline for throttle waits: the call's job timeout, at most 20 minutes."""
        budget = self.settings.job_timeout if timeout is None else timeout
        return self.clock() + min(budget, MAX_THROTTLE_WAIT)

    def _call(
        self, command: str, flat: dict[str, str], *, post: bool | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        try:
            return self._transport.request(command, flat, post=post, deadline=self._deadline(timeout))
        except AuthenticationError as exc:
            raise self._why_unauthorized(command, exc) from None

    def _why_unauthorized(self, command: str, exc: AuthenticationError) -> ApiError:
        """Tell "no such command" from "wrong keys": current servers answer both with the same 401
        (``ApiServer.verifyRequest`` returns false for a command it does not have). One signed read
        that succeeds proves the keys, the signing and the clock; only then is it the command."""
        if command == _KEY_PROBE:
            return exc
        try:
            self.capabilities = self._transport.request(_KEY_PROBE, {}, post=False, deadline=self._deadline(None))
        except CloudStackError:
            return exc
        return CommandUnavailable(
            command,
            f"this CloudStack does not offer {command} to this account (it answered 401 '{exc.errortext}', but the "
            f"same keys work for {_KEY_PROBE}: the command is newer than the server, its plugin is disabled, "
            "or the account's role does not allow it)",
            http_status=exc.http_status,
            errorcode=exc.errorcode,
            cserrorcode=exc.cserrorcode,
        )

    def call(self, command: str, params: Mapping[str, Any] | None = None, *, post: bool | None = None) -> dict:
        """Run ``command`` and return the object under the response's single top-level key.

        ``post=None`` picks GET for reads (``list*``/``get*``/``query*``) and POST for the rest;
        ``True`` forces POST; ``False`` asks for GET. A query longer than ``get_max_bytes`` (user
        data) always goes as POST.
        """
        return self._call(command, flatten_params(params), post=post)

    def list(
        self,
        command: str,
        params: Mapping[str, Any] | None = None,
        *,
        key: str | None = None,
        pagesize: int | None = None,
    ) -> list[dict[str, Any]]:
        """Every item of a ``list*`` command, over all pages (``page``/``pagesize``).

        Without ``pagesize`` the first request carries no paging at all: the server then answers
        at most its own ``default.page.size`` items with the total ``count`` (``BaseListCmd``), so
        one request learns the largest page size the cloud allows. Sending a fixed size instead
        fails on clouds that lowered the setting ("Page size can't exceed max allowed page size
        value: N"); an explicit ``pagesize`` that meets that error is retried once with that N.
        Stops at ``count`` items or at a short or empty page. Items are de-duplicated by ``id``
        (objects created while paging shift pages). ``key`` names the list when the response
        holds more than one; by default it is the one key besides ``count``.
        """
        flat = flatten_params(params)
        items: list[dict[str, Any]] = []
        seen: set[Any] = set()
        page = 1
        while page <= MAX_PAGES:
            if pagesize is None:
                response = self._call(command, flat)
            else:
                try:
                    response = self._call(command, {**flat, "page": str(page), "pagesize": str(pagesize)})
                except ParameterError as exc:
                    allowed = _max_page_size(exc.errortext)
                    if allowed is None or allowed >= pagesize:
                        raise
                    self.logger.info("%s: the cloud allows pages of %d items (default.page.size)", command, allowed)
                    pagesize = allowed
                    continue
            batch = _list_items(command, response, key)
            for item in batch:
                ident = item.get("id") if isinstance(item, dict) else None
                if ident is not None:
                    if ident in seen:
                        continue
                    seen.add(ident)
                items.append(item)
            count = _to_int(response.get("count"))
            if pagesize is None:
                if count is None or len(items) >= count or not batch:
                    return items
                pagesize = len(batch)  # the server's page size: continue from page 2 with it
            elif len(batch) < pagesize or (count is not None and len(items) >= count):
                return items
            page += 1
        raise UnexpectedResponse(command, f"more than {MAX_PAGES} pages; the server seems to ignore 'page'")

    def find_by_name(
        self, command: str, name: str, params: Mapping[str, Any] | None = None, *, key: str | None = None
    ) -> list[dict[str, Any]]:
        """Items whose ``name`` equals ``name`` exactly (the server's ``name=`` may match substrings)."""
        items = self.list(command, {**(params or {}), "name": name}, key=key)
        return [item for item in items if item.get("name") == name]

    # -- async jobs -----------------------------------------------------------------------

    def _submit(self, command: str, params: Mapping[str, Any] | None, timeout: float | None) -> AsyncJob | dict:
        response = self._call(command, flatten_params(params), timeout=timeout)
        job_id = response.get("jobid")
        if job_id is None:
            return response
        object_id = response.get("id")
        return AsyncJob(str(job_id), command, str(object_id) if object_id is not None else None)

    def submit(self, command: str, params: Mapping[str, Any] | None = None) -> AsyncJob:
        """Start an async command; the caller waits later (``wait``/``wait_all``)."""
        job = self._submit(command, params, None)
        if not isinstance(job, AsyncJob):
            raise UnexpectedResponse(command, "no jobid in the answer; is this command asynchronous?")
        return job

    def wait(self, job: AsyncJob, *, timeout: float | None = None, operation: str | None = None) -> dict:
        """The job's ``jobresult`` object; raises AsyncJobFailed/AsyncJobTimeout or a poll error."""
        (result,) = self.wait_all([job], timeout=timeout, operation=operation)
        if isinstance(result, CloudStackError):
            raise result
        return result

    def wait_all(
        self, jobs: Sequence[AsyncJob], *, timeout: float | None = None, operation: str | None = None
    ) -> list[JobResult]:
        """Wait for several jobs at once (interleaved polls, one deadline); results in order."""
        budget = self.settings.job_timeout if timeout is None else timeout

        def query(job: AsyncJob, deadline: float) -> dict[str, Any]:
            return self._transport.request("queryAsyncJobResult", {"jobid": job.job_id}, post=False, deadline=deadline)

        def count_poll() -> None:
            self._stats.polls += 1

        return wait_jobs(
            list(jobs),
            query=query,
            clock=self.clock,
            pause=self._transport.pause,
            timeout=max(budget, 0.0),
            count_poll=count_poll,
            logger=self.logger,
            operation=operation,
        )

    def call_async(
        self,
        command: str,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
        operation: str | None = None,
    ) -> dict:
        """Submit and wait; ``timeout`` (default ``settings.job_timeout``) bounds the whole call.

        ``operation`` names the timeout bucket in messages. A command that answers synchronously
        (no ``jobid``) returns its answer directly.
        """
        budget = self.settings.job_timeout if timeout is None else timeout
        start = self.clock()
        job = self._submit(command, params, budget)
        if not isinstance(job, AsyncJob):
            return job
        return self.wait(job, timeout=budget - (self.clock() - start), operation=operation)


def _to_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


_MAX_PAGE_SIZE = re.compile(r"Page size can't exceed max allowed page size value: (\d+)")


def _max_page_size(text: str) -> int | None:
    """N from ``BaseListCmd.getPageSize``'s refusal, or None for any other parameter error."""
    match = _MAX_PAGE_SIZE.search(text or "")
    return int(match.group(1)) if match and int(match.group(1)) > 0 else None


def _list_items(command: str, response: dict[str, Any], key: str | None) -> list[Any]:
    """The list inside a list response; ``{}`` (CloudStack's empty answer) gives ``[]``."""
    if key is None:
        candidates = [k for k in response if k != "count"]
        if len(candidates) > 1:
            candidates = [k for k in candidates if isinstance(response[k], list)]
        if not candidates:
            return []
        if len(candidates) > 1:
            raise UnexpectedResponse(
                command, f"several lists in the answer ({', '.join(sorted(candidates))}); pass key="
            )
        key = candidates[0]
    batch = response.get(key) or []
    if not isinstance(batch, list):
        raise UnexpectedResponse(command, f"'{key}' is not a list")
    return batch
