"""Run the real CPI process the way the director does, and build configs for the simulator."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HYPERVISOR_ZONES = {"xen": "zone-xen", "kvm": "zone-kvm", "vmware": "zone-vmware"}
DIRECTOR_UUID = "5f4a8b1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b"


def cpi_command() -> list[str]:
    """The console script next to the interpreter, else ``python -m cpi_framework``."""
    script = Path(sys.executable).parent / "cloudstack-cpi"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cpi_framework"]


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def cpi_config_dict(simulator: Any, hypervisor: str, **overrides: Any) -> dict[str, Any]:
    """The CPI config (the release job's property tree) for one simulator zone."""
    base = {
        "cloudstack": {
            "endpoint": simulator.endpoint, "api_key": simulator.api_key,
            "secret_access_key": simulator.secret_key, "default_zone": HYPERVISOR_ZONES.get(hypervisor, hypervisor),
            "hypervisor": hypervisor, "default_key_name": "bosh-key", "timeouts": {"default": 30},
        },
        "cpi": {
            "default_disk_offering": "disk-custom", "default_ephemeral_disk_offering": "disk-custom",
            "agent": {"mbus": "nats://nats:nats-password@10.0.0.6:4222"}, "ntp": ["0.pool.ntp.org"],
            "blobstore": {"provider": "dav", "address": "10.0.0.6", "port": 25250,
                          "agent": {"user": "agent", "password": "agent-blob-password"}},
        },
    }
    return _deep_merge(base, overrides)


def make_cpi_config(simulator: Any, hypervisor: str, tmp_path: Path, **overrides: Any) -> Path:
    """Write :func:`cpi_config_dict` (deep-merged with ``overrides``) to a JSON file; return its path.

    ``make_cpi_config(sim, "kvm", tmp_path, cloudstack={"timeouts": {"default": 5}})``.
    """
    path = Path(tmp_path) / f"cpi-{hypervisor}.json"
    n = 1
    while path.exists():
        n += 1
        path = Path(tmp_path) / f"cpi-{hypervisor}-{n}.json"
    path.write_text(json.dumps(cpi_config_dict(simulator, hypervisor, **overrides), indent=2))
    return path


@dataclass
class CpiResponse:
    """One CPI answer: ``result``/``error``/``log`` of the JSON document plus process facts."""

    result: Any
    error: dict[str, Any] | None
    log: str
    stderr: str
    returncode: int
    raw_stdout: str
    document: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


def run_cpi(config: Path | str, method: str, *args: Any, api_version: int | None = None,
            context: dict[str, Any] | None = None, timeout: float = 60,
            command: list[str] | None = None, env: dict[str, str] | None = None) -> CpiResponse:
    """Run one CPI call; assert stdout is exactly one JSON object (the protocol's rule)."""
    request: dict[str, Any] = {"method": method, "arguments": list(args),
                               "context": context if context is not None else {"director_uuid": DIRECTOR_UUID}}
    if api_version is not None:
        request["api_version"] = api_version
    proc = subprocess.run([*(command or cpi_command()), "--config", str(config)], input=json.dumps(request),
                          capture_output=True, text=True, timeout=timeout, env=env or dict(os.environ))
    decoder = json.JSONDecoder()
    stripped = proc.stdout.lstrip()
    try:
        document, end = decoder.raw_decode(stripped)
    except ValueError as err:
        raise AssertionError(
            f"CPI stdout is not JSON ({err}); stdout={proc.stdout!r} stderr={proc.stderr[-2000:]}") from None
    assert isinstance(document, dict), f"CPI stdout is not a JSON object: {proc.stdout!r}"
    assert not stripped[end:].strip(), f"CPI stdout has more than one JSON document: {proc.stdout!r}"
    return CpiResponse(document.get("result"), document.get("error"), document.get("log", ""), proc.stderr,
                       proc.returncode, proc.stdout, document)
