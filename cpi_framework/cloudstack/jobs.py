"""Waiting for CloudStack async jobs: adaptive polling, per-call deadlines, several jobs at once.

The first poll comes 0.1 s after submitting (a tag or an instant job is seen then); after that
every 0.14 s, or a fourteenth of the time already waited once that is longer, at most 2 s.
A job that ends after T seconds is noticed within max(0.14 s, T/14): under 0.2 s from done to
returned for jobs of up to 2 s, and a 20-minute wait costs about 640 polls instead of a fixed
0.1 s client's 12,000. Against the former law (a tenth, from 0.1 s) a 0.5 s job takes 4 polls
instead of 5 and a 2 s job 15 instead of 17, each noticed sooner; a 10 s job takes 3 more.
Polls count against the account's API rate limit (docs/performance.md, "Job waits").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from .errors import AsyncJobFailed, AsyncJobTimeout, CloudStackError, UnexpectedResponse

if TYPE_CHECKING:
    import logging

__all__ = ["MAX_POLL_INTERVAL", "MIN_POLL_INTERVAL", "AsyncJob", "job_outcome", "poll_interval", "wait_jobs"]

MIN_POLL_INTERVAL = 0.1
"""The pause before a job's first poll; later pauses are at least 1.4 times it (0.14 s)."""
MAX_POLL_INTERVAL = 2.0
LATENESS_FRACTION = 1 / 14
"""Past 2 s of waiting, the pause is this fraction of the time waited (~7 %: a 10 s job ~0.7 s late)."""

JobResult = dict[str, Any] | CloudStackError


class AsyncJob(NamedTuple):
    """A submitted job; ``object_id`` is the ``id`` create-style commands return at once.

    Keep ``object_id`` even if the job fails: the object (a VM in ``Error``) may need cleaning up.
    A named tuple, not a dataclass: every call that talks to CloudStack imports this module, and
    ``dataclasses`` brings ``inspect`` (about 1x a bare interpreter start, docs/performance.md).
    """

    job_id: str
    command: str
    object_id: str | None = None


def poll_interval(elapsed: float) -> float:
    """Seconds to sleep before the next poll, given the seconds already waited."""
    return min(max(elapsed * LATENESS_FRACTION, 1.4 * MIN_POLL_INTERVAL), MAX_POLL_INTERVAL)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def job_outcome(job: AsyncJob, response: dict[str, Any]) -> JobResult | None:
    """``None`` while pending; the ``jobresult`` object on success; an error on failure.

    Status 1 is success, 0 pending; anything else (2 failed, 3 cancelled) is a failure. Old
    servers answer failures as ``jobresulttype: text`` with a bare string.
    """
    status = _int(response.get("jobstatus"))
    if status is None:
        return UnexpectedResponse("queryAsyncJobResult", f"no jobstatus for job {job.job_id} of {job.command}")
    if status == 0:
        return None
    result = response.get("jobresult")
    if status == 1:
        if isinstance(result, dict):
            return result
        return {} if result is None else {"result": result}
    code = _int(response.get("jobresultcode"))
    if isinstance(result, dict):
        code = _int(result.get("errorcode")) or code
        text = str(result.get("errortext") or "no reason given")
    else:
        text = str(result) if result else "no reason given"
    if status == 3:
        text = f"cancelled: {text}"
    return AsyncJobFailed(
        job.command, job.job_id, errorcode=code, errortext=text, jobresult=result, object_id=job.object_id
    )


def wait_jobs(
    jobs: Sequence[AsyncJob],
    *,
    query: Callable[[AsyncJob, float], dict[str, Any]],
    clock: Callable[[], float],
    pause: Callable[[float], None],
    timeout: float,
    count_poll: Callable[[], None],
    logger: logging.Logger,
    operation: str | None = None,
) -> list[JobResult]:
    """Poll all ``jobs`` in turn until each is done or the shared deadline passes.

    ``query(job, deadline)`` fetches one job's status (throttle waits stay within ``deadline``).
    Results come back in the order of ``jobs``: the job's result object or the error for it
    (:class:`AsyncJobFailed`, :class:`AsyncJobTimeout`, or whatever the poll raised).
    """
    start = clock()
    deadline = start + timeout
    results: list[JobResult | None] = [None] * len(jobs)
    pending = list(range(len(jobs)))
    if pending:
        pause(min(MIN_POLL_INTERVAL, timeout))
    while pending:
        for index in list(pending):
            job = jobs[index]
            try:
                count_poll()
                outcome = job_outcome(job, query(job, deadline))
            except CloudStackError as exc:
                outcome = exc
            if outcome is not None:
                results[index] = outcome
                pending.remove(index)
                logger.debug("CloudStack job %s (%s) done after %.1fs", job.job_id, job.command, clock() - start)
        if not pending:
            break
        now = clock()
        if now >= deadline:
            for index in pending:
                job = jobs[index]
                results[index] = AsyncJobTimeout(
                    job.job_id, job.command, now - start, operation=operation, object_id=job.object_id
                )
            break
        pause(min(poll_interval(now - start), deadline - now))
    return [r if r is not None else UnexpectedResponse("queryAsyncJobResult", "no result") for r in results]
