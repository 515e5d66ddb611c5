"""Test doubles for the CloudStack client tests: a fake clock and a fake API for requests-mock.

The fake API checks every request's signature with its own implementation of the server's
algorithm (not the client's signer), so a wire/signing mismatch fails every test. (A uniquely
named module rather than ``conftest`` so imports never hit another directory's conftest.)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlsplit

ENDPOINT = "https://cloud.example.test:8080/client/api"
API_KEY = "AKEY-plgWJfZK4gyS3mOM"
SECRET = "SECRET-VDaACYb0LV9eNjTe+/="
NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)


def java_urlencode(value: str) -> str:
    """java.net.URLEncoder.encode(value, "UTF-8"), written out byte by byte."""
    out = []
    for byte in value.encode("utf-8"):
        char = chr(byte)
        if byte < 128 and (char.isalnum() or char in ".-*_"):
            out.append(char)
        elif char == " ":
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def server_signature(params: dict[str, str], secret: str) -> str:
    """ApiServer.verifyRequest: sort names as received, encode values, lowercase, HMAC-SHA1."""
    names = sorted(n for n in params if n.lower() != "signature")
    unsigned = "&".join(f"{n}={java_urlencode(params[n]).replace('+', '%20')}" for n in names).lower()
    digest = hmac.new(secret.encode(), unsigned.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class FakeTime:
    """Injected clock and sleep: sleeping just advances the clock."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class Call:
    method: str
    command: str
    params: dict[str, str]
    url: str
    body: str
    at: float


Handler = Callable[[Call], Any]


@dataclass
class FakeApi:
    """Routes requests by ``command`` to handlers; a handler returns (status, body[, headers])."""

    time: FakeTime
    handlers: dict[str, list[Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)

    def on(self, command: str, *responses: Any) -> None:
        """Queue responses for ``command``; the last one repeats. Each is a (status, body[, headers])
        tuple, a dict (200 JSON), an exception instance to raise, or a callable(call) giving one."""
        self.handlers[command] = list(responses)

    def commands(self) -> list[str]:
        return [c.command for c in self.calls]

    def __call__(self, request: Any, context: Any) -> str:
        body = request.text or ""
        if isinstance(body, bytes):
            body = body.decode()
        query = urlsplit(request.url).query if request.method == "GET" else body
        params = dict(parse_qsl(query, keep_blank_values=True))
        call = Call(request.method, params.get("command", ""), params, request.url, body, self.time.now)
        self.calls.append(call)
        assert params.get("signature") == server_signature(params, SECRET), "bad signature on the wire"
        queue = self.handlers.get(call.command)
        assert queue, f"unexpected command {call.command}"
        response = queue.pop(0) if len(queue) > 1 else queue[0]
        if callable(response) and not isinstance(response, (dict, tuple)):
            response = response(call)
        if isinstance(response, BaseException):
            raise response
        if isinstance(response, dict):
            response = (200, response)
        status, payload, *rest = response
        context.status_code = status
        context.headers.update(rest[0] if rest else {"Content-Type": "application/json; charset=UTF-8"})
        return payload if isinstance(payload, str) else json.dumps(payload)
