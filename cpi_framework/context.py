"""What one CPI call works with: config, the active plugins, the CloudStack client, the request context.

The client is built on first use, so methods that never touch the cloud (``info``) never
import the HTTP layer or open a connection.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import logging

    from cpi_framework.cloudstack import CloudStackClient
    from cpi_framework.config import Config
    from cpi_framework.logs import Redactor
    from cpi_framework.plugin_system.host import PluginHost


class CallContext:
    """Per-call state handed to every method as its first argument.

    :ivar api_version: the request's ``api_version`` (1 when absent): it picks result shapes.
    :ivar request: the director's ``context`` object as sent (``director_uuid``, ``request_id``,
        ``vm.stemcell.api_version``, cpi-config properties).
    :ivar cache: lookups reused within this call (zones, offerings…), keyed by the caller.
    """

    def __init__(
        self,
        config: Config,
        plugins: PluginHost,
        *,
        api_version: int = 1,
        request: dict[str, Any] | None = None,
        method: str = "",
        logger: logging.Logger | Callable[[], logging.Logger] | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self.config = config
        self.plugins = plugins
        self.api_version = api_version
        self.request = request or {}
        self.method = method
        self._logger = logger
        self.redactor = redactor
        self.cache: dict[Any, Any] = {}
        self._temp_files: list[str] = []

    @cached_property
    def log(self) -> logging.Logger:
        """The method's logger; given as a function, it is made on first use (``info`` logs nothing,
        and ``logging`` costs ~13 ms to import)."""
        import logging

        logger = self._logger() if callable(self._logger) else self._logger
        return logger or logging.getLogger("cpi")

    @property
    def director_uuid(self) -> str | None:
        value = self.request.get("director_uuid")
        return value if isinstance(value, str) and value else None

    @property
    def request_id(self) -> str | None:
        value = self.request.get("request_id")
        return value if isinstance(value, str) else None

    @property
    def stemcell_api_version(self) -> int | None:
        """``context.vm.stemcell.api_version`` when the caller sent one."""
        vm = self.request.get("vm")
        stemcell = vm.get("stemcell") if isinstance(vm, dict) else None
        value = stemcell.get("api_version") if isinstance(stemcell, dict) else None
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def add_secrets(self, *values: Any) -> None:
        """Redact these values from everything logged from now on."""
        if self.redactor is not None:
            self.redactor.add(v for v in values if isinstance(v, str))

    def timeout(self, operation: str) -> float:
        return self.config.cloudstack.timeouts.for_op(operation)

    @cached_property
    def client(self) -> CloudStackClient:
        from cpi_framework.cloudstack import ClientSettings, CloudStackClient
        from cpi_framework.cloudstack.client import LazyLogger

        cs = self.config.cloudstack
        verify: bool | str = True
        if cs.ca_cert:
            verify = self.temp_file(cs.ca_cert, suffix=".pem")
        settings = ClientSettings(
            endpoint=cs.endpoint,
            api_key=cs.api_key,
            secret_key=cs.secret_access_key,
            verify=verify,
            proxies=cs.proxies,
            connect_timeout=cs.connect_timeout,
            read_timeout=cs.read_timeout,
            job_timeout=cs.timeouts.default,
            debug=self.config.cpi.debug,
        )
        return CloudStackClient(settings, logger=LazyLogger(lambda: self.log.getChild("cloudstack")))

    def temp_file(self, content: str, suffix: str) -> str:
        """Write ``content`` to a private temporary file (a CA bundle for the HTTP layer), removed by :meth:`close`."""
        import tempfile  # only a ca_cert needs it; importing it costs every call ~5 ms

        handle, path = tempfile.mkstemp(prefix="cpi-", suffix=suffix)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(content)
        self._temp_files.append(path)
        return path

    def close(self) -> None:
        """Remove temporary files and connections; called once the response is built."""
        for path in self._temp_files:
            try:
                os.unlink(path)
            except OSError:
                pass
        self._temp_files.clear()
        client = self.__dict__.get("client")
        if client is not None and hasattr(client, "close"):
            client.close()
