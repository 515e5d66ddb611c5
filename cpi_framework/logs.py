"""Logging for one CPI call: stderr lines and the response's ``log`` string, both redacted.

Every record passes through :class:`Redactor` before any handler formats it, so a secret
cannot reach stderr, the ``log`` field or an error message by a path nobody thought of:
config secrets are known by value, and the shapes of secrets (``signature=``, ``apikey=``,
``"password": …``, URL credentials, PEM private keys) are masked wherever they appear.

``logging`` itself costs ~13 ms to import, and ``info`` logs nothing: :class:`CallLog` installs
its handlers the moment anything could log - on first use of :attr:`CallLog.logger`, or as
soon as any code (a plugin, a library) imports ``logging`` - so nothing logged is ever lost,
and a call that never needs ``logging`` never imports it.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import logging

MASK = "<redacted>"
LOGGER_NAME = "cpi"

_PATTERNS = [  # compiled on first use (re's cache): a call that redacts nothing (info) compiles none
    # key=value in query strings / form bodies
    (r"(?i)\b(apikey|api_key|signature|secretkey|secret_access_key|password|token)=([^&\s\"']+)",
     r"\1=" + MASK),
    # "password": "…" and friends in JSON/YAML/repr
    (r"(?i)([\"']?(?:password|secret|secret_access_key|api_key|apikey|private_key|signature|"
     r"token|x-signature)[\"']?\s*[:=]\s*)([\"'])(?:(?!\2).)*\2", r"\1\2" + MASK + r"\2"),
    # scheme://user:password@host
    (r"(?i)(\b[a-z][a-z0-9+.-]*://[^:/@\s\"']+:)([^@\s\"'/]+)(@)", r"\1" + MASK + r"\3"),
    # PEM private keys
    (r"(?s)-----BEGIN ([A-Z ]*)PRIVATE KEY-----.*?-----END \1PRIVATE KEY-----",
     "-----BEGIN PRIVATE KEY-----" + MASK + "-----END PRIVATE KEY-----"),
]


class Redactor:
    """Masks known secret values (plain, URL-encoded, base64) and secret-shaped text.

    A logging filter (``handler.addFilter`` takes any object with a ``filter`` method), not a
    ``logging.Filter`` subclass, so that creating one does not import ``logging``.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._values: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Register more secret values (e.g. ``env.bosh.password`` of the current request)."""
        secrets = [s for s in secrets if isinstance(s, str) and len(s) >= 4]
        if not secrets:
            return
        import base64  # here, not at the top: ``info`` rarely has a secret to register
        from urllib.parse import quote, quote_plus

        for secret in secrets:
            forms = {secret, quote(secret, safe=""), quote_plus(secret), quote(secret, safe="*").replace("~", "%7E")}
            forms.add(base64.b64encode(secret.encode()).decode().rstrip("="))
            self._values.extend(f for f in forms if f not in self._values)
        self._values.sort(key=len, reverse=True)

    def redact(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, MASK)
        for pattern, replacement in _PATTERNS:
            text = re.sub(pattern, replacement, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        import logging

        message = record.getMessage()
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = self.redact(message), None
        return True


class CallLog:
    """The logging setup of one process: stderr plus an in-memory copy for the ``log`` field.

    The handlers go on the ``cpi`` logger when ``logging`` is first imported (or at once, when
    it already is); until then nothing can have logged, and :meth:`text` is empty.
    """

    def __init__(self, *, debug: bool = False, stream: io.TextIOBase | None = None) -> None:
        self.redactor = Redactor()
        self.buffer = io.StringIO()
        self.request_id: str | None = None
        self.debug = debug
        self._stream = stream
        self._logger: logging.Logger | None = None
        self._handlers: list[logging.Handler] = []
        if "logging" in sys.modules:
            self._install(sys.modules["logging"])
        else:
            sys.meta_path.insert(0, _WhenImported("logging", self._install))

    @property
    def logger(self) -> logging.Logger:
        """The ``cpi`` logger with this call's handlers (imports ``logging`` on first use)."""
        if self._logger is None:
            import logging  # runs _install through the import hook

            if self._logger is None:  # the hook was bypassed (another CallLog's import, a reload)
                self._install(logging)
        assert self._logger is not None
        return self._logger

    def _install(self, logging: ModuleType) -> None:
        if self._logger is not None:
            return
        logger = logging.getLogger(LOGGER_NAME)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        formatter = _formatter(logging, self)
        self._handlers = [logging.StreamHandler(self._stream or sys.stderr), logging.StreamHandler(self.buffer)]
        for handler in self._handlers:
            handler.setFormatter(formatter)
            handler.addFilter(self.redactor)
            logger.addHandler(handler)
        self._logger = logger
        self.set_debug(self.debug)

    def set_debug(self, debug: bool) -> None:
        self.debug = debug
        level = 10 if debug else 20  # logging.DEBUG, logging.INFO
        for handler in self._handlers:
            handler.setLevel(level)

    def text(self) -> str:
        """The ``log`` field: everything logged, redacted, valid UTF-8."""
        return self.buffer.getvalue().encode("utf-8", "replace").decode("utf-8")


def _formatter(logging: ModuleType, owner: CallLog) -> logging.Formatter:
    """The line format, with the director's request id in front when the request has one."""

    class Formatter(logging.Formatter):  # type: ignore[name-defined,misc]
        def format(self, record: logging.LogRecord) -> str:
            line = super().format(record)
            if owner.request_id:
                line = f"[{owner.request_id}] {line}"
            return line

    return Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")


class _WhenImported:
    """A one-shot ``sys.meta_path`` finder: calls ``callback(module)`` once ``name`` is imported.

    It finds the module with the finders after it and wraps the loader, so the callback runs
    right after the module's code, before the importer gets the module back (and can log).
    """

    def __init__(self, name: str, callback: Callable[[ModuleType], None]) -> None:
        self.name = name
        self.callback = callback

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != self.name:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find is not None else None
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _ThenCall(spec.loader, self.callback)
                return spec
        return None


class _ThenCall:
    """A loader that runs the real loader, then the callback with the module."""

    def __init__(self, loader: Any, callback: Callable[[ModuleType], None]) -> None:
        self._loader = loader
        self._callback = callback

    def create_module(self, spec: Any) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        self._callback(module)

    def __getattr__(self, name: str) -> Any:  # get_source, is_package... for tracebacks and tools
        return getattr(self._loader, name)
