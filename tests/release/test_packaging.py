"""The packages' scripts build a layout in which the rendered bin/cpi runs as the director runs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from cpi_framework.testing.runner import cpi_config_dict

from .conftest import DIRECTOR_PATH, Installation, director_env, run_packaging
from .harness import REPO, render_job
from .test_templates import MINIMAL


def call(installation: Installation, jobs: Path, home: Path, request: dict[str, Any],
         **extra_env: str) -> tuple[dict[str, Any], str]:
    env = director_env(home, BOSH_PACKAGES_DIR=str(installation.packages), BOSH_JOBS_DIR=str(jobs), **extra_env)
    done = subprocess.run(["env", "-i", *(f"{k}={v}" for k, v in env.items()),
                           str(jobs / "cloudstack_cpi" / "bin" / "cpi")],
                          input=json.dumps(request).encode(), capture_output=True, timeout=60, cwd="/")
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout), done.stderr.decode()


INFO = {"method": "info", "arguments": [], "context": {"director_uuid": "d-1"}}


@pytest.mark.parametrize(("hypervisor", "formats"), [("xen", "cloudstack-vhdx"), ("kvm", None), ("vmware", None)])
def test_rendered_bin_cpi_answers_info_with_only_path_home_tmpdir(installation, tmp_path, hypervisor, formats) -> None:
    properties = {"cloudstack": {**MINIMAL["cloudstack"], "hypervisor": hypervisor}}
    render_job(properties, tmp_path / "jobs")
    response, _ = call(installation, tmp_path / "jobs", tmp_path / "home", INFO)
    assert response["error"] is None, response
    assert response["result"]["api_version"] >= 2
    assert response["result"]["stemcell_formats"], "the plugin was loaded from the package"
    if formats:
        assert formats in response["result"]["stemcell_formats"]


def test_package_runs_its_own_libraries_not_the_hosts(installation) -> None:
    library = installation.packages / "cloudstack_cpi" / "lib" / "python"
    assert (library / "cpi_framework" / "__init__.py").is_file()
    for dist in ("cpi_framework_xen", "cpi_framework_kvm", "cpi_framework_vmware", "pluggy", "marshmallow"):
        assert list(library.glob(f"{dist}-*.dist-info")), dist
    python = installation.packages / "python3" / "bin" / "python3"
    assert python.is_symlink(), "the macOS branch links the host interpreter"
    wrapper = (installation.packages / "cloudstack_cpi" / "bin" / "cloudstack-cpi").read_text()
    assert " -I -S " in wrapper


def test_bin_cpi_defaults_to_var_vcap(installation, tmp_path) -> None:
    jobs = tmp_path / "jobs"
    render_job(MINIMAL, jobs)
    env = director_env(tmp_path / "home")
    done = subprocess.run(["env", "-i", *(f"{k}={v}" for k, v in env.items()), str(jobs / "cloudstack_cpi/bin/cpi")],
                          input=b"{}", capture_output=True, timeout=60)
    if Path("/var/vcap/packages/cloudstack_cpi").exists():
        pytest.skip("a real /var/vcap/packages/cloudstack_cpi exists on this machine")
    assert b"/var/vcap/packages/cloudstack_cpi/bin/cloudstack-cpi" in done.stderr


def test_bin_cpi_calls_the_simulator_through_the_package(installation, tmp_path) -> None:
    from cloudstack_simulator import Simulator

    with Simulator() as simulator:
        render_job(cpi_config_dict(simulator, "xen"), tmp_path / "jobs")
        request = {"method": "create_disk", "arguments": [1024, {}, None],
                   "context": {"director_uuid": "d-1", "request_id": "r-1"}, "api_version": 2}
        response, stderr = call(installation, tmp_path / "jobs", tmp_path / "home", request)
        assert response["error"] is None, (response, stderr)
        disk_cid = response["result"]
        has, _ = call(installation, tmp_path / "jobs", tmp_path / "home",
                      {"method": "has_disk", "arguments": [disk_cid], "context": {"director_uuid": "d-1"}})
        assert has["result"] is True
    assert simulator.secret_key not in stderr + response["log"]


def test_cloudstack_cpi_packaging_fails_without_vendored_wheels(installation, tmp_path) -> None:
    compile_dir = tmp_path / "compile"
    (compile_dir / "cloudstack_cpi" / "wheels").mkdir(parents=True)
    (compile_dir / "cloudstack_cpi" / "vendor").mkdir()
    packages = tmp_path / "packages"
    packages.mkdir()
    (packages / "python3").symlink_to(installation.packages / "python3")
    done = run_packaging("cloudstack_cpi", compile_dir, packages, DIRECTOR_PATH)
    assert done.returncode != 0
    assert "no vendored pip wheel" in done.stderr


def test_python3_packaging_on_macos_rejects_a_missing_python(installation, tmp_path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shutil.copy(installation.fake_bin / "uname", bin_dir / "uname")
    for tool in ("bash", "env", "mkdir", "ln", "sh"):
        found = shutil.which(tool, path=DIRECTOR_PATH)
        if found:
            (bin_dir / tool).symlink_to(found)
    (tmp_path / "compile").mkdir()
    done = run_packaging("python3", tmp_path / "compile", tmp_path / "packages", str(bin_dir))
    assert done.returncode != 0
    assert "no python3 on PATH" in done.stderr


@pytest.mark.heavy
@pytest.mark.skipif(not os.environ.get("CPI_HEAVY_TESTS"), reason="compiles CPython (minutes): CPI_HEAVY_TESTS=1")
def test_python3_packaging_compiles_cpython_from_the_blob(tmp_path) -> None:
    blobs = sorted((REPO / "release" / "blobs" / "python3").glob("Python-3.*"))
    if not blobs:
        pytest.skip("no python3 blob: run release/scripts/build_blobs.py first")
    compile_dir = tmp_path / "compile"
    (compile_dir / "python3").mkdir(parents=True)
    shutil.copy(blobs[0], compile_dir / "python3")
    done = run_packaging("python3", compile_dir, tmp_path / "packages", DIRECTOR_PATH)
    assert done.returncode == 0, done.stderr[-4000:]
    python = tmp_path / "packages" / "python3" / "bin" / "python3"
    assert subprocess.run([str(python), "-c", "import ssl, zlib"], timeout=60).returncode == 0


def test_python3_packaging_links_the_host_python_only_for_the_marker_blob(tmp_path) -> None:
    """``build_release.py --host-python`` (the e2e) ships a marker, not a tarball: link, don't compile."""
    compile_dir = tmp_path / "compile"
    (compile_dir / "python3").mkdir(parents=True)
    (compile_dir / "python3" / "Python-3.host-interpreter").write_text("# marker\n", encoding="utf-8")
    path = f"{Path(shutil.which('python3') or '/usr/bin/python3').parent}:{DIRECTOR_PATH}"
    done = run_packaging("python3", compile_dir, tmp_path / "packages", path)
    assert done.returncode == 0, done.stderr[-2000:]
    python = tmp_path / "packages" / "python3" / "bin" / "python3"
    assert python.is_symlink() and "using the host's" in done.stdout
    # any other non-tarball blob still fails in tar, never silently links
    (compile_dir / "python3" / "Python-3.host-interpreter").rename(compile_dir / "python3" / "Python-3.bogus")
    done = run_packaging("python3", compile_dir, tmp_path / "other", path)
    assert done.returncode != 0 and not (tmp_path / "other" / "python3" / "bin" / "python3").exists()
