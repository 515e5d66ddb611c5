"""The CPI's peak memory while uploading a large (sparse) image stays flat: < 100 MiB RSS.

The CPI runs as the director runs it (one process, request on stdin); its peak RSS is read
from the kernel's accounting for exactly that child (``os.wait4``), so nothing else in the
test process counts. The fast tier uploads 512 MiB (a few seconds over loopback); the multi-GB
variants run with ``CPI_HEAVY_TESTS=1``.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from cloudstack_simulator import Simulator
from cpi_framework.testing import DIRECTOR_UUID, cpi_command, make_cpi_config

MiB = 1 << 20
GiB = 1 << 30
LIMIT = 100 * MiB
HEAVY = os.environ.get("CPI_HEAVY_TESTS") == "1"


def run_measured(config: Path, request: dict[str, Any], timeout: float) -> tuple[dict[str, Any], int]:
    """Run one CPI call; return its response and the child's peak RSS in bytes."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([*cpi_command(), "--config", str(config)], stdin=subprocess.PIPE, stdout=out,
                                stderr=err)
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(request).encode())
        proc.stdin.close()
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                raise AssertionError(f"the CPI did not finish within {timeout}s")
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    assert proc.returncode == 0, stderr[-2000:]
    return json.loads(stdout), usage.ru_maxrss * 1024  # Linux reports KiB


def sparse_image(directory: Path, size: int) -> Path:
    path = directory / "image"
    with open(path, "wb") as stream:
        stream.truncate(size)
    return path


PROPS = {"name": "bosh-cloudstack-xen-ubuntu-jammy-go_agent", "version": "1.181", "infrastructure": "cloudstack",
         "hypervisor": "xen", "disk_format": "vhdx", "architecture": "x86_64"}


@pytest.mark.parametrize(
    "size",
    [
        pytest.param(512 * MiB, id="512MiB", marks=pytest.mark.slow),
        pytest.param(4 * GiB, id="4GiB", marks=[pytest.mark.heavy,
                                                pytest.mark.skipif(not HEAVY, reason="CPI_HEAVY_TESTS=1")]),
    ],
)
def test_direct_upload_memory_is_flat_in_the_image_size(size: int, tmp_path: Path) -> None:
    image = sparse_image(tmp_path, size)
    with Simulator() as sim:
        config = make_cpi_config(sim, "xen", tmp_path)
        request = {"method": "create_stemcell", "arguments": [str(image), PROPS], "api_version": 2,
                   "context": {"director_uuid": DIRECTOR_UUID}}
        started = time.monotonic()
        response, peak = run_measured(config, request, timeout=60 + size / (20 * MiB))
        seconds = time.monotonic() - started
        assert response["error"] is None, response["error"]
        (template,) = [t for t in sim.inventory()["templates"] if t["id"] == response["result"]]
        assert template["upload"]["bytes"] == size and template["isready"]
    print(f"uploaded {size / MiB:.0f} MiB in {seconds:.1f}s, CPI peak RSS {peak / MiB:.1f} MiB")
    assert peak < LIMIT, f"CPI peak RSS {peak / MiB:.1f} MiB for a {size / MiB:.0f} MiB image"


@pytest.mark.heavy
@pytest.mark.skipif(not HEAVY, reason="CPI_HEAVY_TESTS=1")
def test_url_mode_serving_memory_is_flat(tmp_path: Path) -> None:
    image = sparse_image(tmp_path, 2 * GiB)
    with Simulator() as sim:
        config = make_cpi_config(sim, "xen", tmp_path, cloudstack={"stemcell_upload_mode": "url"},
                                 cpi={"stemcell_serve_address": "127.0.0.1:0"})
        request = {"method": "create_stemcell", "arguments": [str(image), PROPS], "api_version": 2,
                   "context": {"director_uuid": DIRECTOR_UUID}}
        response, peak = run_measured(config, request, timeout=300)
        assert response["error"] is None, response["error"]
    assert peak < LIMIT, f"CPI peak RSS {peak / MiB:.1f} MiB while serving a 2 GiB image"
