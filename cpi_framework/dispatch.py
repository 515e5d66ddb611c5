"""One CPI call from raw request bytes to the response object (the rpc layer's driver).

Order matters for the guarantees: the log is set up before anything can fail, secrets are
registered with the redactor as soon as they are known (config, then request arguments),
and every failure - envelope, config, plugin, method - ends as one typed error response.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from cpi_framework import rpc
from cpi_framework.errors import CpiError
from cpi_framework.logs import CallLog

if TYPE_CHECKING:
    import logging


class Dispatcher:
    def __init__(self, config_path: str | None, *, argv_problem: str | None = None, extra_plugins: Any = ()) -> None:
        self.config_path = config_path
        self.argv_problem = argv_problem
        self.extra_plugins = extra_plugins
        self.call_log = CallLog()

    @property
    def log(self) -> logging.Logger:
        """The ``cpi`` logger (imports ``logging``: the light methods only reach for it to log)."""
        return self.call_log.logger

    def handle(self, raw: bytes | str) -> dict[str, Any]:
        started = time.monotonic()
        method = "?"
        ctx = None
        try:
            request = rpc.parse_request(raw)
            method = request["method"]
            context = request.get("context") or {}
            if isinstance(context.get("request_id"), str):
                self.call_log.request_id = context["request_id"]
            self.call_log.redactor.add(rpc.collect_secrets(request))
            api_version = request.get("api_version") or 1
            entry, function = rpc.lookup(method, api_version)
            if self.argv_problem:
                raise CpiError(self.argv_problem)
            ctx = self._light_context(context, api_version, method) if entry.light else self._context(
                request, context, api_version, method
            )
            arguments = rpc.bind_arguments(method, function, request["arguments"])
            if self.call_log.debug:
                self.log.debug("%s called (api_version %s)", method, api_version)
            result = function(ctx, *arguments)
            reply = rpc.response(result)
            if self.call_log.debug:
                self.log.debug("%s finished in %.3fs", method, time.monotonic() - started)
        except BaseException as exc:  # noqa: BLE001 - every failure must become a response
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            error = rpc.error_response(exc, self.log.getChild(method if method != "?" else "rpc"))
            error["message"] = self.call_log.redactor.redact(error["message"])  # same rules as the log
            reply = rpc.response(error=error)
        finally:
            if ctx is not None:
                ctx.close()
        reply["log"] = self.call_log.text()
        return reply

    def _light_context(self, context: dict[str, Any], api_version: int, method: str) -> Any:
        from cpi_framework.config.light import read_hypervisor_name
        from cpi_framework.context import CallContext
        from cpi_framework.plugin_system.host import PluginHost

        plugins = PluginHost(read_hypervisor_name(self.config_path), self.extra_plugins)  # type: ignore[arg-type]
        return CallContext(None, plugins, api_version=api_version, request=context, method=method,  # type: ignore[arg-type]
                           logger=lambda: self.log.getChild(method), redactor=self.call_log.redactor)

    def _context(self, request: dict[str, Any], context: dict[str, Any], api_version: int, method: str) -> Any:
        from cpi_framework.config import load_config  # marshmallow only for a config it must judge
        from cpi_framework.context import CallContext
        from cpi_framework.plugin_system.host import PluginHost

        overrides = {k: v for k, v in context.items() if k in rpc.CONTEXT_CONFIG_SECTIONS and isinstance(v, dict)}
        config = load_config(self.config_path, overrides or None)  # type: ignore[arg-type]
        self.call_log.redactor.add(config.secrets())
        self.call_log.set_debug(config.cpi.debug)
        plugins = PluginHost(config.cloudstack.hypervisor, self.extra_plugins)
        config = config.with_plugin_defaults(plugins.defaults)
        return CallContext(
            config,
            plugins,
            api_version=api_version,
            request=context,
            method=method,
            logger=lambda: self.log.getChild(method),  # made when the method first logs
            redactor=self.call_log.redactor,
        )
