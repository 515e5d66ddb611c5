"""Logging for one CPI call: stderr lines and the response's ``log`` string, both redacted.

Every record passes through :class:`Redactor` before any handler formats it, so a secret
cannot reach stderr, the ``log`` field or an error message by a path nobody thought of:
config secrets are known by value, and the shapes of secrets (``signature=``, ``apikey=``,
``"password": …``, URL credentials, PEM private keys) are masked wherever they appear.
"""

from __future__ import annotations

import io
import logging
import re
import sys
from collections.abc import Iterable

MASK = "<redacted>"
LOGGER_NAME = "cpi"

_PATTERNS = [
    # key=value in query strings / form bodies
    (re.compile(r"(?i)\b(apikey|api_key|signature|secretkey|secret_access_key|password|token)=([^&\s\"']+)"),
     r"\1=" + MASK),
    # "password": "…" and friends in JSON/YAML/repr
    (re.compile(r"(?i)([\"']?(?:password|secret|secret_access_key|api_key|apikey|private_key|signature|"
                r"token|x-signature)[\"']?\s*[:=]\s*)([\"'])(?:(?!\2).)*\2"), r"\1\2" + MASK + r"\2"),
    # scheme://user:password@host
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s\"']+:)([^@\s\"'/]+)(@)", re.I), r"\1" + MASK + r"\3"),
    # PEM private keys
    (re.compile(r"-----BEGIN ([A-Z ]*)PRIVATE KEY-----.*?-----END \1PRIVATE KEY-----", re.S),
     "-----BEGIN PRIVATE KEY-----" + MASK + "-----END PRIVATE KEY-----"),
]


class Redactor(logging.Filter):
    """Masks known secret values (plain, URL-encoded, base64) and secret-shaped text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._values: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Register more secret values (e.g. ``env.bosh.password`` of the current request)."""
        import base64  # here, not at the top: ``info`` rarely has a secret to register
        from urllib.parse import quote, quote_plus

        for secret in secrets:
            if not isinstance(secret, str) or len(secret) < 4:
                continue
            forms = {secret, quote(secret, safe=""), quote_plus(secret), quote(secret, safe="*").replace("~", "%7E")}
            forms.add(base64.b64encode(secret.encode()).decode().rstrip("="))
            self._values.extend(f for f in forms if f not in self._values)
        self._values.sort(key=len, reverse=True)

    def redact(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, MASK)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = self.redact(message), None
        return True


class CallLog:
    """The logging setup of one process: stderr plus an in-memory copy for the ``log`` field."""

    def __init__(self, *, debug: bool = False, stream: io.TextIOBase | None = None) -> None:
        self.redactor = Redactor()
        self.buffer = io.StringIO()
        self.request_id: str | None = None
        self.logger = logging.getLogger(LOGGER_NAME)
        self.logger.setLevel(logging.DEBUG)
        self.logger.propagate = False
        for handler in list(self.logger.handlers):
            self.logger.removeHandler(handler)
        formatter = _Formatter(self)
        self._stderr = logging.StreamHandler(stream or sys.stderr)
        self._memory = logging.StreamHandler(self.buffer)
        for handler in (self._stderr, self._memory):
            handler.setFormatter(formatter)
            handler.addFilter(self.redactor)
            self.logger.addHandler(handler)
        self.set_debug(debug)

    def set_debug(self, debug: bool) -> None:
        level = logging.DEBUG if debug else logging.INFO
        self._stderr.setLevel(level)
        self._memory.setLevel(level)

    def text(self) -> str:
        """The ``log`` field: everything logged, redacted, valid UTF-8."""
        return self.buffer.getvalue().encode("utf-8", "replace").decode("utf-8")


class _Formatter(logging.Formatter):
    def __init__(self, owner: CallLog) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._owner = owner

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        if self._owner.request_id:
            line = f"[{self._owner.request_id}] {line}"
        return line
