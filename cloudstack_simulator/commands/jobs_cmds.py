"""``queryAsyncJobResult`` and ``listAsyncJobs``."""

from __future__ import annotations

from typing import Any

from ..errors import invalid_uuid
from ..params import Params
from . import Ctx, command


@command("queryAsyncJobResult")
def query_async_job_result(ctx: Ctx, p: Params) -> dict[str, Any]:
    jobid = p.req("jobid")
    job = ctx.jobs.jobs.get(jobid)
    if job is None:
        raise invalid_uuid("jobid", jobid)
    return ctx.jobs.view(job)


@command("listAsyncJobs")
def list_async_jobs(ctx: Ctx, p: Params) -> dict[str, Any]:
    items = [ctx.jobs.view(j) for j in ctx.jobs.jobs.values()]
    return ctx.listing(p, items, "asyncjobs")
