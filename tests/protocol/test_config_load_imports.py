"""Through the real process: a valid config loads without marshmallow, an invalid one gets its exact message.

A structural check, not a timing one: the CPI runs as a program (``cli.main()`` in its own
process, its own exit path), wrapped only to print, at exit, the modules the call imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cpi_framework.config import validate_config
from cpi_framework.errors import ConfigError
from cpi_framework.testing import cpi_config_dict

WRAPPER = """
import atexit, json, sys
atexit.register(lambda: sys.stderr.write("\\nIMPORTED " + json.dumps(sorted(sys.modules)) + "\\n"))
from cpi_framework.cli import main
raise SystemExit(main())
"""


def has_vm(config: Path) -> tuple[dict[str, Any], set[str]]:
    request = json.dumps({"method": "has_vm", "arguments": ["vm-that-is-not-there"], "context": {}}).encode()
    proc = subprocess.run([sys.executable, "-c", WRAPPER, "--config", str(config)], input=request,
                          capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    marker = [line for line in proc.stderr.decode().splitlines() if line.startswith("IMPORTED ")]
    assert marker, f"the wrapper's exit hook did not run: {proc.stderr.decode()[-2000:]}"
    return json.loads(proc.stdout), set(json.loads(marker[-1].removeprefix("IMPORTED ")))


def marshmallow_modules(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m == "marshmallow" or m.startswith("marshmallow."))


def write(tmp_path: Path, raw: dict[str, Any]) -> Path:
    path = tmp_path / "cpi.json"
    path.write_text(json.dumps(raw))
    return path


def test_a_valid_config_is_loaded_without_marshmallow(simulator, tmp_path):
    response, modules = has_vm(write(tmp_path, cpi_config_dict(simulator, "xen")))
    assert response["error"] is None and response["result"] is False, response
    assert not marshmallow_modules(modules), "a valid config imported marshmallow"
    assert "cpi_framework.config.fast" in modules  # the config was loaded, by the fast path


def test_a_call_that_logs_nothing_imports_no_logging_or_dataclasses(simulator, tmp_path):
    """has_vm logs nothing at INFO: its logger, the client's and the job waiter's are made on
    first use, and the client's records are named tuples (``dataclasses`` imports ``inspect``)."""
    response, modules = has_vm(write(tmp_path, cpi_config_dict(simulator, "xen")))
    assert response["error"] is None and response["log"] == "", response
    assert not {"logging", "dataclasses", "inspect", "pluggy", "uuid"} & modules, sorted(
        {"logging", "dataclasses", "inspect", "pluggy", "uuid"} & modules)


def test_a_value_only_marshmallow_accepts_is_left_to_it(simulator, tmp_path):
    raw = cpi_config_dict(simulator, "xen", cloudstack={"proxy_port": "8080", "read_timeout": "60"})
    response, modules = has_vm(write(tmp_path, raw))
    assert response["error"] is None and response["result"] is False, response
    assert marshmallow_modules(modules)


@pytest.mark.parametrize("change", [
    {"cloudstack": {"proxy_port": "eighty", "endpoint": "ftp://cloud"}},
    {"cpi": {"agent": {"mbuss": "nats://nats:secret@10.0.0.6:4222"}}},
    {"cloudstack": {"timeouts": {"default": 0}}, "cpi": {"ntp": "pool.ntp.org"}},
])
def test_an_invalid_config_gets_marshmallows_exact_message(simulator, tmp_path, change):
    from cpi_framework.config import deep_merge

    raw = deep_merge(cpi_config_dict(simulator, "xen"), change)
    path = write(tmp_path, raw)
    with pytest.raises(ConfigError) as expected:
        validate_config(raw, str(path))
    response, modules = has_vm(path)
    assert response["error"]["type"] == "Bosh::Clouds::CloudError"
    assert response["error"]["message"] == str(expected.value)
    assert marshmallow_modules(modules)
