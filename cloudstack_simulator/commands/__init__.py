"""API command registry and the context handlers run in.

Handlers are plain functions ``handler(ctx, params) -> dict`` registered with
:func:`command`.  A sync handler returns the body under ``<command>response``; an async
one calls :meth:`Ctx.submit` and returns ``{"jobid": ...}`` (plus ``"id"`` for
create-style commands).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import ApiError, invalid_uuid, param_error
from ..faults import Faults
from ..jobs import Job, JobManager
from ..params import Params
from ..state import State
from ..versions import Profile

Handler = Callable[["Ctx", Params], dict[str, Any]]


@dataclass
class Command:
    name: str
    handler: Handler
    is_async: bool
    response_name: str


COMMANDS: dict[str, Command] = {}


def command(name: str, is_async: bool = False, response_name: str | None = None) -> Callable[[Handler], Handler]:
    """Register a handler; ``response_name`` defaults to ``lower(name) + "response"``."""

    def deco(fn: Handler) -> Handler:
        COMMANDS[name] = Command(name, fn, is_async, response_name or name.lower() + "response")
        return fn

    return deco


def response_name(command_name: str) -> str:
    cmd = COMMANDS.get(command_name)
    return cmd.response_name if cmd else "errorresponse"


@dataclass
class Ctx:
    """Everything a handler may touch.  The state lock is held while it runs."""

    st: State
    jobs: JobManager
    faults: Faults
    command: str
    method: str
    base_url: str
    upload_base: str = ""
    """``<scheme>://<host>:<port>`` of the upload listener (the SSVM); empty: the API's own."""

    @property
    def cfg(self) -> dict[str, Any]:
        return self.st.cfg

    @property
    def profile(self) -> Profile:
        """The server generation's rules (``cloudstack_version``, :mod:`cloudstack_simulator.versions`)."""
        return self.st.profile

    # -- async jobs ---------------------------------------------------------------------
    def submit(self, run: Callable[[], dict[str, Any]], on_fail: Callable[[ApiError], None] | None = None,
               instance_type: str | None = None, instance_id: str | None = None) -> Job:
        """Queue the job with the configured/fault-injected duration and failure."""
        duration: float | None = self.faults.duration_override(self.command)
        if duration is None:
            duration = float((self.cfg.get("job_durations") or {}).get(self.command, self.cfg.get("job_duration", 0)))
        if self.faults.take_hang(self.command):
            duration = None
        forced = self.faults.take_job_error(self.command)
        return self.jobs.submit(self.command, run, duration, on_fail, instance_type, instance_id, forced)

    # -- lookups ------------------------------------------------------------------------
    def entity(self, p: Params, name: str, kind: str, required: bool = False, not_found: str | None = None) -> Any:
        """Resolve ``name`` (a UUID parameter) to a live object.

        Unknown ids -> 431 like ``ParamProcessWorker``; removed ones -> ``not_found`` text
        (the command's own "unable to find" check), default 431 as well.
        """
        value = p.str(name, required=required)
        if value is None:
            return None
        obj = self.st.get(kind, value, include_removed=True)
        if obj is None:
            raise invalid_uuid(name, value)
        if obj.removed:
            raise param_error(not_found or f"Unable to find {kind} with id {value}")
        return obj

    def id_filter(self, p: Params, name: str, kind: str) -> tuple[bool, Any]:
        """For list filters: ``(True, obj)`` to filter on, ``(False, None)`` when absent.

        A removed entity's id yields an empty list; an unknown id yields the 431 of
        ``translateUuidToInternalId`` (or an empty list with ``api.unknown_uuid: empty``).
        """
        value = p.str(name)
        if value is None:
            return False, None
        obj = self.st.get(kind, value, include_removed=True)
        if obj is None:
            if self.cfg["api"]["unknown_uuid"] == "error":
                raise invalid_uuid(name, value)
            return True, None
        return True, obj

    # -- list responses -----------------------------------------------------------------
    def listing(self, p: Params, items: list[dict[str, Any]], objname: str,
                name_match: str = "exact", name_field: str = "name") -> dict[str, Any]:
        """Apply ``name``/``keyword``/``tags[i]`` filters and paging, render like the server."""
        name = p.str("name")
        if name is not None:
            if name_match == "substring":
                items = [i for i in items if name.lower() in str(i.get(name_field, "")).lower()]
            else:
                items = [i for i in items if i.get(name_field) == name]
        keyword = p.str("keyword")
        if keyword:
            kw = keyword.lower()
            items = [i for i in items if any(kw in str(i.get(f, "")).lower()
                                             for f in ("name", "displayname", "displaytext", "description"))]
        for tag in p.map("tags"):
            key, value = tag.get("key"), tag.get("value")
            items = [i for i in items if any(t["key"] == key and (value is None or t["value"] == value)
                                             for t in i.get("tags", []))]
        count = len(items)
        page, pagesize = p.int("page"), p.int("pagesize")
        maxsize = int(self.cfg["api"]["page_size"])
        if pagesize is not None and pagesize != -1:
            if page is None:
                raise param_error("\"page\" parameter is required when \"pagesize\" is specified")
            if pagesize > maxsize:
                raise param_error(f"Page size can't exceed max allowed page size value: {maxsize}")
            if pagesize < 1 or page < 1:
                raise param_error("Page and pagesize should be positive numbers")
            items = items[pagesize * (page - 1): pagesize * page]
        elif pagesize == -1:
            if page is not None:
                raise param_error("Can't specify page parameter when pagesize is -1 (Unlimited)")
        elif page is not None:
            raise param_error("\"pagesize\" parameter is required when \"page\" is specified")
        else:
            items = items[:maxsize]
        out: dict[str, Any] = {}
        if count:
            out["count"] = count
        if items:
            out[objname] = items
        return out


def load_all() -> None:
    """Import the command modules so their decorators register them."""
    from . import (  # noqa: F401
        access,
        affinity,
        catalog,
        jobs_cmds,
        network,
        resize,
        rules,
        tags,
        templates,
        vm_deploy,
        vms,
        volumes,
    )
