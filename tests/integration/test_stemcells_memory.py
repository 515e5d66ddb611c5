"""The CPI's peak memory while uploading a large (sparse) image stays flat: < 100 MiB RSS.

The CPI runs as the director runs it (one process, request on stdin); its peak RSS is the
child's own ``VmHWM``, reported at exit through the benchmarks' runner (``bench/common.py``),
so nothing else in the test process counts. The fast tier uploads 512 MiB (a few seconds over loopback); the multi-GB
variants run with ``CPI_HEAVY_TESTS=1``. The kvm variants stream ``root.img`` out of an
OpenStack-style gzipped ``image`` tarball, decompressing on the fly.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import os
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest

from cloudstack_simulator import Simulator
from cpi_framework.testing import DIRECTOR_UUID, make_cpi_config


def _load_bench_common() -> Any:
    """The benchmarks' measuring runner, loaded by path (``bench`` is scripts, not a package)."""
    path = Path(__file__).resolve().parents[2] / "bench" / "common.py"
    spec = importlib.util.spec_from_file_location("cpi_bench_common", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # type: ignore[union-attr]  (dataclasses look their module up)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


bench_common = _load_bench_common()

MiB = 1 << 20
GiB = 1 << 30
LIMIT = 100 * MiB
HEAVY = os.environ.get("CPI_HEAVY_TESTS") == "1"


def run_measured(config: Path, request: dict[str, Any], timeout: float) -> tuple[dict[str, Any], int]:
    """Run one CPI call; return its response and the child's own peak RSS (VmHWM) in bytes.

    Not ``ru_maxrss`` from ``wait4``: Linux carries the parent's peak into the child's at exec,
    so a 40 MiB CPI started by a 300 MiB pytest would report 300 MiB. The benchmarks' runner
    has the child report its VmHWM at exit.
    """
    measured = bench_common.run_measured(
        [*bench_common.cpi_args(), "--config", str(config)], json.dumps(request).encode(), timeout=timeout
    )
    assert measured.returncode == 0, measured.stderr[-2000:]
    return json.loads(measured.stdout), measured.maxrss


def sparse_image(directory: Path, size: int) -> Path:
    path = directory / "image"
    with open(path, "wb") as stream:
        stream.truncate(size)
    return path


def zero_member_image(directory: Path, size: int) -> Path:
    """An OpenStack ``image``: a gzipped tar whose ``root.img`` is ``size`` zero bytes, in a few MB.

    Written as concatenated gzip members (one compressed MiB of zeros repeated), so building even
    4 GiB takes no time; gzip readers (the CPI's included) read such a file as one stream.
    """
    info = tarfile.TarInfo("root.img")
    info.size = size
    zeros = gzip.compress(bytes(MiB), compresslevel=1)
    path = directory / "image"
    with open(path, "wb") as out:
        out.write(gzip.compress(info.tobuf(format=tarfile.GNU_FORMAT)))
        for _ in range(size // MiB):
            out.write(zeros)
        out.write(gzip.compress(bytes(size % MiB) + bytes(-size % 512) + bytes(1024)))  # padding, end of archive
    return path


def zeros_sha256(size: int) -> str:
    sha, block = hashlib.sha256(), bytes(MiB)
    for _ in range(size // MiB):
        sha.update(block)
    sha.update(bytes(size % MiB))
    return sha.hexdigest()


PROPS = {"name": "bosh-cloudstack-xen-ubuntu-jammy-go_agent", "version": "1.181", "infrastructure": "cloudstack",
         "hypervisor": "xen", "disk_format": "vhdx", "architecture": "x86_64"}


KVM_PROPS = {"name": "bosh-openstack-kvm-ubuntu-jammy-go_agent", "version": "1.181", "infrastructure": "openstack",
             "hypervisor": "kvm", "disk_format": "qcow2", "container_format": "bare", "architecture": "x86_64"}
IMAGES = {"xen": (sparse_image, PROPS), "kvm": (zero_member_image, KVM_PROPS)}
"""Per plugin: how its image is built (xen: a sparse file; kvm: ``root.img`` in a gzipped tar) and its properties."""


@pytest.mark.parametrize(
    "size",
    [
        pytest.param(512 * MiB, id="512MiB", marks=pytest.mark.slow),
        pytest.param(4 * GiB + 123, id="4GiB", marks=[pytest.mark.heavy,
                                                      pytest.mark.skipif(not HEAVY, reason="CPI_HEAVY_TESTS=1")]),
    ],
)
@pytest.mark.parametrize("hypervisor", ["xen", "kvm"])
def test_direct_upload_memory_is_flat_in_the_image_size(hypervisor: str, size: int, tmp_path: Path) -> None:
    make, props = IMAGES[hypervisor]
    image = make(tmp_path, size)
    with Simulator() as sim:
        config = make_cpi_config(sim, hypervisor, tmp_path)
        request = {"method": "create_stemcell", "arguments": [str(image), props], "api_version": 2,
                   "context": {"director_uuid": DIRECTOR_UUID}}
        started = time.monotonic()
        response, peak = run_measured(config, request, timeout=60 + size / (20 * MiB))
        seconds = time.monotonic() - started
        assert response["error"] is None, response["error"]
        (template,) = [t for t in sim.inventory()["templates"] if t["id"] == response["result"]]
        assert template["upload"]["bytes"] == size and template["isready"]
        assert template["upload"]["sha256"] == zeros_sha256(size)
    print(f"uploaded {size / MiB:.0f} MiB from a {image.stat().st_blocks * 512 / MiB:.1f} MiB {hypervisor} image in "
          f"{seconds:.1f}s, CPI peak RSS {peak / MiB:.1f} MiB")
    assert peak < LIMIT, f"CPI peak RSS {peak / MiB:.1f} MiB for a {size / MiB:.0f} MiB image"


@pytest.mark.heavy
@pytest.mark.skipif(not HEAVY, reason="CPI_HEAVY_TESTS=1")
@pytest.mark.parametrize("hypervisor", ["xen", "kvm"])
def test_url_mode_serving_memory_is_flat(hypervisor: str, tmp_path: Path) -> None:
    make, props = IMAGES[hypervisor]
    image = make(tmp_path, 2 * GiB)
    with Simulator() as sim:
        config = make_cpi_config(sim, hypervisor, tmp_path, cloudstack={"stemcell_upload_mode": "url"},
                                 cpi={"stemcell_serve_address": "127.0.0.1:0"})
        request = {"method": "create_stemcell", "arguments": [str(image), props], "api_version": 2,
                   "context": {"director_uuid": DIRECTOR_UUID}}
        response, peak = run_measured(config, request, timeout=300)
        assert response["error"] is None, response["error"]
        (template,) = [t for t in sim.inventory()["templates"] if t["id"] == response["result"]]
        assert template["upload"]["bytes"] == 2 * GiB and template["upload"]["source"] == "url"
    assert peak < LIMIT, f"CPI peak RSS {peak / MiB:.1f} MiB while serving a 2 GiB {hypervisor} image"

