"""The public entry point: ``with Simulator(...) as sim:``."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from . import views
from .app import Core
from .config import load_config
from .faults import Faults
from .guest import guest_view
from .jobs import JobManager
from .server import SimHTTPServer
from .state import State
from .tls import server_context


class Simulator:
    """A running CloudStack API server on ``host:port`` (port 0 = ephemeral).

    ``config``: ``None`` (bundled ``default.yml``), a path (YAML/JSON; a bare name such as
    ``"kvm.yml"`` finds the bundled example) or a dict, deep-merged over ``default.yml``.
    ``tls``: ``(cert_pem, key_pem)`` to serve HTTPS.

    The upload endpoint (``postURL``) is the secondary storage VM, another host than the API:
    a second listener on ``templates.upload_host`` (default: ``host``, another port) with
    ``upload_tls`` as its certificate (default: ``tls``). Without either it speaks plain HTTP,
    like a cloud with ``use.https.to.upload=false``.
    """

    def __init__(self, config: None | str | Path | dict[str, Any] = None, host: str = "127.0.0.1",
                 port: int = 0, tls: tuple[str | Path, str | Path] | None = None,
                 upload_tls: tuple[str | Path, str | Path] | None = None) -> None:
        self.config = load_config(config)
        self._core = Core(self.config)
        self._tls = server_context(*tls) if tls else None
        self._server = SimHTTPServer((host, port), self._core, self, self._tls, role="api")
        self.host = host
        self.port = self._server.server_address[1]
        self.base_url = _url("https" if self._tls else "http", host, self.port)
        self._core.base_url = self.base_url
        upload_ctx = server_context(*upload_tls) if upload_tls else self._tls
        upload_host = self.config["templates"].get("upload_host") or host
        try:
            self._upload_server = SimHTTPServer((upload_host, 0), self._core, self, upload_ctx, role="upload")
        except BaseException:
            self._server.server_close()
            raise
        self.upload_host = upload_host
        self.upload_port = self._upload_server.server_address[1]
        self.upload_base = _url("https" if upload_ctx else "http",
                                ssvm_hostname(upload_host, self.config["templates"].get("ssl_cert_domain")),
                                self.upload_port)
        self._core.upload_base = self.upload_base
        self._threads: list[threading.Thread] = []
        if self._core.agents is not None:
            self._core.agents.metadata_url = self.base_url

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> Simulator:
        if not self._threads:
            for server, name in ((self._server, self.port), (self._upload_server, f"upload-{self.upload_port}")):
                thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                          name=f"cloudstack-simulator-{name}", daemon=True)
                thread.start()
                self._threads.append(thread)
        return self

    def close(self) -> None:
        if self._threads:
            for server in (self._server, self._upload_server):
                server.shutdown()
            for thread in self._threads:
                thread.join(timeout=10)
            self._threads = []
        self._server.server_close()
        self._upload_server.server_close()
        if self._core.agents is not None:
            self._core.agents.close()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- connection facts -----------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        return f"{self.base_url}/client/api"

    @property
    def api_key(self) -> str:
        return str(self.config["api_key"])

    @property
    def secret_key(self) -> str:
        return str(self.config["secret_key"])

    @property
    def faults(self) -> Faults:
        return self._core.faults

    # -- introspection --------------------------------------------------------------------
    def inventory(self) -> dict[str, Any]:
        """Every live object as API-shaped dicts (with states), by kind."""
        return self._core.inventory()

    def request_log(self) -> list[dict[str, Any]]:
        """``[{"time","method","command","params"(secrets redacted),"status","elapsed"}]``."""
        return self._core.request_log()

    def request_counts(self) -> dict[str, int]:
        return self._core.request_counts()

    def reset_log(self) -> None:
        self._core.reset_log()

    def reset(self, log: bool = True, faults: bool = True, state: bool = False) -> None:
        """Clear the request log and faults; ``state=True`` also restores the configured inventory."""
        if log:
            self._core.reset_log()
        if faults:
            self._core.faults.clear()
        if state:
            with self._core.st.lock:
                fresh = State(self.config)
                self._core.jobs = JobManager(fresh.account_id, fresh.user_id)
                self._core.st = fresh

    def guest_view(self, vm_id: str) -> dict[str, Any]:
        """What the VM's guest sees: user-data (bytes) and source, config drive files, disks."""
        self._core.advance()
        with self._core.st.lock:
            return guest_view(self._core.st, vm_id)

    def add_template(self, zone: str, name: str, hypervisor: str | None = None, ready: bool = True,
                     format: str | None = None, ostype: str | None = None,  # noqa: A002 - API name
                     size: int = 3 * 2**30, **extra: Any) -> dict[str, Any]:
        """Add a template to ``zone`` (by name or id); returns its ``listTemplates`` view."""
        st = self._core.st
        with st.lock:
            z = st.by_name("zone", zone) or st.get("zone", zone)
            if z is None:
                raise KeyError(f"no zone {zone!r}")
            if hypervisor is not None:
                extra["hypervisor"] = hypervisor
            tpl = st.add_template(z, name, fmt=format, ostype=ostype, size=size, ready=ready, **extra)
            if not ready:
                tpl.status = ""
            return views.template_view(st, tpl)

    def guest_agents(self) -> dict[str, int]:
        """``{vm_id: pid}`` of the running bosh-agent processes (``guest_agent`` config)."""
        return self._core.agents.running() if self._core.agents is not None else {}

    def guest_agent_exits(self) -> dict[str, int]:
        """``{vm_id: exit status}`` of agents that exited although their VM is still running."""
        return self._core.agents.exited() if self._core.agents is not None else {}

    def guest_agent_dir(self, vm_id: str) -> Path | None:
        """The base directory (``-b``) of ``vm_id``'s agent, or None without ``guest_agent``."""
        return self._core.agents.base_dir(vm_id) if self._core.agents is not None else None

    def wait_idle(self) -> None:
        """Advance due jobs and template state transitions now (normally done per request)."""
        self._core.advance()


def _url(scheme: str, host: str, port: int) -> str:
    return f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"


def ssvm_hostname(address: str, ssl_cert_domain: str | None) -> str:
    """The postURL host: the SSVM's address, or ``a-b-c-d<domain minus its '*'>`` when
    ``secstorage.ssl.cert.domain`` is set (``ImageStoreUtil.generatePostUploadUrl``: "if ssvm url
    domain is present, use it to construct hostname in the format 1-2-3-4.domain")."""
    if not ssl_cert_domain:
        return address
    return address.replace(".", "-") + ssl_cert_domain[1:]
