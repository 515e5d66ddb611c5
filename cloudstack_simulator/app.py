"""The management server's request pipeline, independent of HTTP plumbing.

Order of checks, as in ``ApiServlet``/``ApiServer.verifyRequest``:
no command -> 400; API key unknown / ``expires`` invalid -> 401; unknown command -> 432 up to 4.10, 401 from 4.11
(versions.py); rate limit -> 429; signature -> 401; then the command runs under the
state lock.  Responses are JSON (``response=json``); anything else gets a small XML
rendering, as the server defaults to XML, so a client forgetting ``response=json`` fails
here as it would there.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from typing import Any
from xml.sax.saxutils import escape

from . import limits, signing, views
from .commands import COMMANDS, Ctx, load_all, response_name
from .commands.templates import advance_templates
from .errors import CS_REQUEST_LIMIT, CS_SERVER_API, ApiError, unauthorized
from .faults import Faults
from .guest_agent import GuestAgents
from .jobs import JobManager
from .params import Params
from .state import State

load_all()

REDACTED = "<redacted>"
SECRET_PARAMS = {"apikey", "signature", "userdata", "password", "secretkey"}
JSON_TYPE = "application/json; charset=UTF-8"
MAX_LOG = 100_000


class Result:
    """One HTTP answer: status, body, content type, extra headers; ``drop`` closes silently."""

    def __init__(self, status: int, body: bytes, content_type: str = JSON_TYPE,
                 headers: dict[str, str] | None = None, drop: bool = False) -> None:
        self.status, self.body, self.content_type = status, body, content_type
        self.headers = headers or {}
        self.drop = drop


class Core:
    """State, jobs, faults and the request log behind one simulator."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.st = State(cfg)
        self.jobs = JobManager(self.st.account_id, self.st.user_id)
        self.faults = Faults()
        self.base_url = ""
        self.upload_base = ""
        self.agents = GuestAgents.from_config(cfg)
        self._log: list[dict[str, Any]] = []
        self._log_lock = threading.Lock()

    # -- housekeeping -------------------------------------------------------------------
    def advance(self) -> None:
        with self.st.lock:
            self.jobs.advance()
            advance_templates(self.st)
        self.follow_guests()

    def follow_guests(self) -> None:
        """Start/stop the optional per-VM bosh-agent processes to match the VM states."""
        if self.agents is not None:
            with self.st.lock:
                vms = list(self.st.live("vm"))
            self.agents.reconcile(vms)

    def record(self, entry: dict[str, Any]) -> None:
        with self._log_lock:
            self._log.append(entry)
            if len(self._log) > MAX_LOG:
                del self._log[: len(self._log) - MAX_LOG]

    def request_log(self) -> list[dict[str, Any]]:
        with self._log_lock:
            return [dict(e) for e in self._log]

    def request_counts(self) -> dict[str, int]:
        with self._log_lock:
            return dict(Counter(e["command"] for e in self._log))

    def reset_log(self) -> None:
        with self._log_lock:
            self._log.clear()

    # -- the API ------------------------------------------------------------------------
    def api(self, method: str, params: dict[str, str]) -> Result:
        started = time.monotonic()
        command = params.get("command")
        result = self._api(method, command, params)
        self.follow_guests()
        self.record({"time": time.time(), "method": method, "command": command or "",
                     "params": {k: (REDACTED if k.lower() in SECRET_PARAMS else v) for k, v in params.items()},
                     "status": 0 if result.drop else result.status, "elapsed": time.monotonic() - started})
        return result

    def _api(self, method: str, command: str | None, params: dict[str, str]) -> Result:
        wants_json = next((v for k, v in params.items() if k.lower() == "response"), "xml").lower() == "json"
        if command is None:
            return self._error(ApiError(400, "no command specified", None, errorresponse=True), None, wants_json)
        if self.faults.take_drop(command):
            return Result(0, b"", drop=True)
        try:
            self._authenticate(command, params)
            cmd = COMMANDS[command]
            fault = self.faults.take_fail_next(command)
            if fault is not None:
                raise fault
            self._check_characters(params)
            with self.st.lock:
                self.jobs.advance()
                advance_templates(self.st)
                ctx = Ctx(self.st, self.jobs, self.faults, command, method, self.base_url, self.upload_base)
                known = {k: v for k, v in params.items() if self.st.profile.knows_param(command, k)}
                body = cmd.handler(ctx, Params(_short_name(cmd.response_name), known))
            return self._ok(cmd.response_name, body, wants_json)
        except ApiError as err:
            return self._error(limits.as_seen_by_caller(self.cfg, err), command, wants_json)

    def _authenticate(self, command: str, params: dict[str, str]) -> None:
        api_key = next((v for k, v in params.items() if k.lower() == "apikey"), None)
        if api_key != self.cfg["api_key"]:
            raise unauthorized()
        try:
            signing.check_expires(params, datetime.now(timezone.utc),
                                  bool(self.cfg["api"].get("enforce_post_and_timestamps")),
                                  iso_formats=self.st.profile.has("expires_iso_formats"))
        except signing.ExpiresError:
            raise unauthorized() from None
        if command not in COMMANDS or not self.st.profile.command_exists(command):
            raise self._unknown_command()
        limits.check_command_allowed(self.cfg, command)
        wait_ms = self.faults.throttled(self.cfg["api"].get("throttle_rps"))
        if wait_ms is not None:
            raise ApiError(429, "The given user has reached his/her account api limit, please retry after "
                                f"{wait_ms} ms.", CS_REQUEST_LIMIT)
        if not signing.verify(params, self.cfg["secret_key"]):
            raise unauthorized()

    def _unknown_command(self) -> ApiError:
        """``ApiServer.verifyRequest`` on a command it does not have (versions.RULES["unknown_command_is_401"]):
        4.5-4.10 throw 432 ``errorresponse`` (cserrorcode 9999); from 4.11 it only logs "The given command ...
        either does not exist, is not available for user, or not available from ip address ..." and returns
        false, so the servlet answers its 401 - the same answer as wrong keys."""
        if self.st.profile.has("unknown_command_is_401"):
            return unauthorized()
        return ApiError(432, "The given command does not exist or it is not available for user", CS_SERVER_API,
                        errorresponse=True)

    @staticmethod
    def _check_characters(params: dict[str, str]) -> None:
        for name, value in params.items():
            if any((ord(c) < 32 and c not in "\t\n\r") or ord(c) == 127 for c in value):
                raise ApiError(431, "Received value containing illegal ASCII non-printable characters for "
                                    f"parameter {name}", CS_SERVER_API)

    def _ok(self, name: str, body: dict[str, Any], wants_json: bool) -> Result:
        return self._render(200, name, body, wants_json)

    def _error(self, err: ApiError, command: str | None, wants_json: bool) -> Result:
        name = "errorresponse" if err.errorresponse or command is None else response_name(command)
        result = self._render(err.http_status, name, err.body(), wants_json)
        result.headers["X-Description"] = err.errortext
        return result

    def _render(self, status: int, name: str, body: dict[str, Any], wants_json: bool) -> Result:
        if wants_json:
            return Result(status, json.dumps({name: body}).encode())
        xml = f'<?xml version="1.0" encoding="UTF-8"?><{name} cloud-stack-version="' \
              f'{self.cfg["cloudstack_version"]}">{_xml(body)}</{name}>'
        return Result(status, xml.encode(), "text/xml; charset=UTF-8")

    # -- introspection ------------------------------------------------------------------
    def inventory(self) -> dict[str, Any]:
        self.advance()
        st = self.st
        with st.lock:
            return {
                "zones": [views.zone_view(st, z) for z in st.live("zone")],
                "networks": [views.network_view(st, n) for n in st.live("network")],
                "serviceofferings": [views.service_offering_view(st, o) for o in st.live("serviceoffering")],
                "diskofferings": [views.disk_offering_view(st, o) for o in st.live("diskoffering")],
                "sshkeypairs": [views.keypair_view(st, k) for k in st.live("keypair")],
                "virtualmachines": [dict(views.vm_view(st, v), userdata=v.userdata) for v in st.live("vm")],
                "volumes": [views.volume_view(st, v) for v in st.live("volume")],
                "templates": [dict(views.template_view(st, t), upload={k: v for k, v in t.upload.items()
                                                                       if k in ("bytes", "sha256", "filename",
                                                                                "content_type", "source")})
                              for t in st.live("template")],
                "snapshots": [views.snapshot_view(st, s) for s in st.live("snapshot")],
                "tags": [views.tag_view(st, t) for t in st.tags],
                "publicips": [views.public_ip_view(st, i) for i in st.live("publicip")],
                "affinitygroups": [views.affinity_group_view(st, g) for g in st.live("affinitygroup")],
                "loadbalancerrules": [views.lb_rule_view(st, r) for r in st.live("lbrule")],
                "jobs": [{"jobid": j.id, "command": j.command, "jobstatus": j.status,
                          "jobinstanceid": j.instance_id} for j in self.jobs.jobs.values()],
            }


def _short_name(response: str) -> str:
    return response[: -len("response")] if response.endswith("response") else response


def _xml(value: Any, tag: str | None = None) -> str:
    if isinstance(value, dict):
        inner = "".join(_xml(v, k) for k, v in value.items())
        return f"<{tag}>{inner}</{tag}>" if tag else inner
    if isinstance(value, list):
        return "".join(_xml(v, tag) for v in value)
    text = str(value).lower() if isinstance(value, bool) else escape(str(value))
    return f"<{tag}>{text}</{tag}>" if tag else text
