"""Optional: a real ``bosh-agent`` process per running VM, for end-to-end runs with the bosh CLI.

Off unless the config names the agent binary (``guest_agent.binary``). Then every VM that
is ``Running`` has one ``bosh-agent -P dummy -M dummy`` process (the agent's ``dummy``
platform, the one BOSH's own integration tests use: no real disks, mounts recorded in JSON
files under its base directory). A VM that stops, is destroyed or expunged loses its agent;
a reboot restarts it, as a guest's agent restarts with the guest.

The agent reads its settings the way a CloudStack stemcell's agent does on a network whose
UserData service is the virtual router: an HTTP settings source asking
``/latest/user-data`` (see :mod:`cloudstack_simulator.metadata`). The one departure from a
real guest: on loopback every connection comes from 127.0.0.1, so the agent.json written
here names the guest's address in an ``X-Forwarded-For`` header, which the metadata
endpoint takes in place of the source address (the agent's HTTP source sends configured
headers: ``infrastructure.HTTPSourceOptions.Headers``).

Every process is started and stopped here, each stop bounded (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

from . import models as m

STOP_TIMEOUT = 5.0


def agent_json(metadata_url: str, guest_ip: str) -> dict[str, Any]:
    """The agent config a stemcell would carry, pointed at the simulator's metadata endpoint."""
    return {
        "Platform": {"Linux": {}},
        "Infrastructure": {"Settings": {"Sources": [{
            "Type": "HTTP", "URI": metadata_url,
            "UserDataPath": "/latest/user-data",
            "InstanceIDPath": "/latest/meta-data/instance-id",
            "SSHKeysPath": "/latest/meta-data/public-keys",
            "Headers": {"X-Forwarded-For": guest_ip},
        }]}},
    }


class GuestAgents:
    """One agent process per running VM; :meth:`reconcile` follows the VM states."""

    def __init__(self, binary: str, work_dir: str) -> None:
        self.binary = binary
        self.work_dir = Path(work_dir)
        self.metadata_url = ""
        self._procs: dict[str, tuple[int, subprocess.Popen[bytes]]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> GuestAgents | None:
        section = cfg.get("guest_agent") or {}
        if not section.get("binary"):
            return None
        return cls(str(section["binary"]), str(section.get("work_dir") or "guest-agents"))

    def base_dir(self, vm_id: str) -> Path:
        """The agent's ``-b`` directory (``bosh/mounts.json``, ``bosh/settings.json``, ...)."""
        return self.work_dir / vm_id / "vcap"

    def running(self) -> dict[str, int]:
        """``{vm_id: pid}`` of the live agent processes."""
        with self._lock:
            return {vm_id: proc.pid for vm_id, (_, proc) in self._procs.items() if proc.poll() is None}

    def exited(self) -> dict[str, int]:
        """``{vm_id: exit status}`` of agents that died while their VM runs (a guest whose agent failed)."""
        with self._lock:
            return {vm_id: code for vm_id, (_, proc) in self._procs.items() if (code := proc.poll()) is not None}

    def reconcile(self, vms: list[m.VirtualMachine]) -> None:
        """Start agents for running VMs (or rebooted ones), stop those of VMs that are not."""
        wanted = {vm.id: vm for vm in vms if vm.state == "Running" and not vm.removed}
        with self._lock:
            for vm_id in list(self._procs):
                boots, _ = self._procs[vm_id]
                if vm_id not in wanted or wanted[vm_id].boots != boots:
                    self._stop(vm_id)
            for vm_id, vm in wanted.items():
                if vm_id not in self._procs:
                    self._start(vm)

    def close(self) -> None:
        with self._lock:
            for vm_id in list(self._procs):
                self._stop(vm_id)

    def _start(self, vm: m.VirtualMachine) -> None:
        default = next((n for n in vm.nics if n.isdefault), vm.nics[0] if vm.nics else None)
        if default is None:
            return
        home = self.work_dir / vm.id
        (home / "vcap" / "bosh").mkdir(parents=True, exist_ok=True)
        config = home / "agent.json"
        config.write_text(json.dumps(agent_json(self.metadata_url, default.ipaddress), indent=2), encoding="utf-8")
        log = (home / "agent.log").open("ab")
        try:
            proc = subprocess.Popen(
                [self.binary, "-P", "dummy", "-M", "dummy", "-C", str(config), "-b", str(home / "vcap")],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=home,
                start_new_session=True, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
        finally:
            log.close()
        self._procs[vm.id] = (vm.boots, proc)

    def _stop(self, vm_id: str) -> None:
        _, proc = self._procs.pop(vm_id)
        if proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_TIMEOUT)
