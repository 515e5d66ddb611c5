"""The bosh-agent's own code as the judge: the client of ``tests/agent_oracle`` (a Go program).

The oracle links the real agent's packages (``github.com/cloudfoundry/bosh-agent/v2``, version
pinned in its go.mod) and answers, one JSON line per question, what the agent does with what
the CPI produced: the settings sources of a stemcell's ``agent.json`` reading the user-data
(HTTP metadata or ConfigDrive), the interface configuration by MAC, and each
``DevicePathResolutionType`` resolving a disk hint in a guest built from the simulator's
guest view. :mod:`.checks` asks it beside the Python model (:mod:`.agent_resolvers`), and a
disagreement fails the test with what the agent saw.

One process serves the whole test session. It is found through ``CPI_AGENT_ORACLE`` (a built
binary) or built by ``scripts/build-agent-oracle`` (cached under ``build/agent-oracle``).
Without Go the checks are skipped, with the reason :func:`unavailable_reason` gives; under
``CI=true`` a missing oracle is a failure (:func:`require_in_ci`).
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import selectors
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

__all__ = [
    "CLOUDSTACK_CONFIG_DRIVE_SOURCES",
    "STEMCELL_AGENT_CONFIGS",
    "AgentOracle",
    "OracleUnavailable",
    "get_oracle",
    "require_in_ci",
    "unavailable_reason",
]

ORACLE_ENV = "CPI_AGENT_ORACLE"
ANSWER_TIMEOUT = 60.0
"""Seconds to wait for one answer (a resolution takes ~0.1-0.3 s: the agent's 100 ms polls)."""

STEMCELL_AGENT_CONFIGS: dict[str, dict[str, Any]] = {
    # bosh-linux-stemcell-builder stemcell_builder/stages/bosh_cloudstack_agent_settings/apply.sh
    "cloudstack": {"resolution": "virtio", "sources": [
        {"Type": "HTTP", "URI": "http://169.254.169.254:39724", "UserDataPath": "/latest/user-data",
         "InstanceIDPath": "/latest/meta-data/instance-id", "SSHKeysPath": "/latest/meta-data/public-keys"}]},
    # ... stages/bosh_openstack_agent_settings/apply.sh
    "openstack": {"resolution": "virtio", "sources": [
        {"Type": "File", "SettingsPath": "/var/vcap/bosh/agent-bootstrap-env.json"},
        {"Type": "ConfigDrive", "DiskPaths": ["/dev/disk/by-label/CONFIG-2", "/dev/disk/by-label/config-2"],
         "MetaDataPath": "ec2/latest/meta-data.json", "UserDataPath": "ec2/latest/user-data"},
        {"Type": "HTTP", "URI": "http://169.254.169.254", "UserDataPath": "/latest/user-data",
         "InstanceIDPath": "/latest/meta-data/instance-id",
         "SSHKeysPath": "/latest/meta-data/public-keys/0/openssh-key"}]},
    # ... stages/bosh_vsphere_agent_settings/apply.sh
    "vsphere": {"resolution": "scsi", "sources": [{"Type": "CDROM", "FileName": "env"}]},
}
"""The ``agent.json`` of the upstream stemcells (``Platform.Linux.DevicePathResolutionType`` and
``Infrastructure.Settings.Sources``). The oracle serves every HTTP source from 127.0.0.1."""

CLOUDSTACK_CONFIG_DRIVE_SOURCES: list[dict[str, Any]] = [
    {"Type": "ConfigDrive", "DiskPaths": ["/dev/disk/by-label/config-2"],
     "MetaDataPath": "openstack/latest/meta_data.json", "UserDataPath": "openstack/latest/user_data"}]
"""A ConfigDrive source pointed at the files CloudStack's ``ConfigDriveBuilder`` writes. No upstream
stemcell has it: the OpenStack stemcell reads ``ec2/latest/user-data`` (plugins/kvm/README.md)."""


class OracleUnavailable(Exception):
    """The oracle cannot run here (no Go, or its build failed); the message says why."""


def _repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def _build() -> Path:
    script = _repo_root() / "scripts" / "build-agent-oracle"
    if not script.exists():
        raise OracleUnavailable(f"set {ORACLE_ENV} to a built agent oracle (no {script} in this installation)")
    try:
        done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=1200)
    except subprocess.TimeoutExpired:
        raise OracleUnavailable("scripts/build-agent-oracle took more than 20 minutes") from None
    if done.returncode == 3:
        raise OracleUnavailable(done.stderr.strip() or "no Go toolchain")
    if done.returncode != 0:
        raise OracleUnavailable(f"scripts/build-agent-oracle failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


def _b64(data: Any) -> str | None:
    if data is None:
        return None
    return base64.b64encode(data if isinstance(data, bytes) else str(data).encode()).decode()


def _guest(view: dict[str, Any]) -> dict[str, Any]:
    keys = ("volume_id", "path", "by_id", "by_path", "scsi", "type")
    disks = [{k: d[k] for k in keys if k in d} for d in view.get("disks") or []]
    return {"disks": disks, "config_drive_label": view.get("config_drive_label") or ""}


class AgentOracle:
    """One running oracle process; :meth:`ask` is thread-safe and bounded in time."""

    def __init__(self, binary: Path | str) -> None:
        self.binary = str(binary)
        self._proc = subprocess.Popen([self.binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, text=True, bufsize=1)
        self._lock = threading.Lock()
        self._next = 0
        self.asked, self.seconds = 0, 0.0
        """questions asked and seconds spent waiting for answers (for docs/testing.md's cost figures)"""
        self.agent = str(self.ask({"op": "version"})["agent"])

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            started = time.monotonic()
            self._next += 1
            ident = self._next
            assert self._proc.stdin is not None and self._proc.stdout is not None
            self._proc.stdin.write(json.dumps({**request, "id": ident}) + "\n")
            self._proc.stdin.flush()
            with selectors.DefaultSelector() as sel:
                sel.register(self._proc.stdout, selectors.EVENT_READ)
                if not sel.select(ANSWER_TIMEOUT):
                    raise OracleUnavailable(f"the agent oracle gave no answer in {ANSWER_TIMEOUT:.0f} s "
                                            f"to {request['op']}")
            line = self._proc.stdout.readline()
            self.asked, self.seconds = self.asked + 1, self.seconds + time.monotonic() - started
        if not line:
            raise OracleUnavailable(f"the agent oracle exited ({self._proc.poll()})")
        answer: dict[str, Any] = json.loads(line)
        assert answer.get("id") == ident, f"oracle answered {answer.get('id')} to question {ident}"
        return answer

    def resolve(self, resolution: str, cid: str, hint: Any, view: dict[str, Any], *, ephemeral: bool = False,
                id_transform: tuple[str, str] = ("", "")) -> dict[str, Any]:
        """The agent's resolver ``resolution`` on ``hint`` (the director's persistent hint for ``cid``,
        or the ephemeral hint of the settings): ``ok``, ``path``, ``volume_id`` or ``error``.
        ``id_transform`` is agent.json's ``DiskIDTransformPattern`` and ``…Replacement`` (Go syntax: ``$1``)."""
        return self.ask({"op": "resolve", "resolution": resolution, "cid": cid, "hint": hint,
                         "ephemeral": ephemeral, "guest": _guest(view), "id_transform": list(id_transform)})

    def settings(self, view: dict[str, Any], sources: list[dict[str, Any]], nics: list[dict[str, str]],
                 resolution: str = "") -> dict[str, Any]:
        """The settings the agent's ``sources`` read from the guest: ``settings`` (the agent's struct
        as JSON), ``interfaces`` (or ``interfaces_error``) over ``nics`` (``mac``, ``name``), and the
        ephemeral disk through ``resolution``."""
        drive = view.get("config_drive") or {}
        return self.ask({"op": "settings", "sources": sources, "user_data": _b64(view.get("user_data")),
                         "metadata": view.get("metadata") or {},
                         "config_drive": {name: _b64(data) for name, data in drive.items()},
                         "nics": nics, "resolution": resolution, "guest": _guest(view)})

    def close(self) -> None:
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)


_state: dict[str, Any] = {}
_state_lock = threading.Lock()


def _start() -> AgentOracle:
    binary = os.environ.get(ORACLE_ENV)
    path = Path(binary) if binary else _build()
    if not path.is_file():
        raise OracleUnavailable(f"{ORACLE_ENV}={binary} is not a file")
    oracle = AgentOracle(path)
    atexit.register(oracle.close)
    return oracle


def get_oracle() -> AgentOracle | None:
    """The session's oracle, started (and built) on first use; ``None`` when it cannot run here."""
    with _state_lock:
        if "oracle" not in _state and "reason" not in _state:
            try:
                _state["oracle"] = _start()
            except OracleUnavailable as err:
                _state["reason"] = str(err)
            except OSError as err:
                _state["reason"] = f"starting the agent oracle: {err}"
        return _state.get("oracle")


def unavailable_reason() -> str | None:
    """Why :func:`get_oracle` gave ``None`` (``None`` while the oracle runs)."""
    return None if get_oracle() else str(_state.get("reason"))


def require_in_ci() -> AgentOracle:
    """The oracle, or skip (fail under ``CI=true``) with the reason: for the tests that report on it."""
    import pytest

    oracle = get_oracle()
    if oracle is not None:
        return oracle
    reason = f"agent oracle unavailable: {unavailable_reason()}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason + " (CI=true: the agent oracle must run in CI)")
    pytest.skip(reason)
