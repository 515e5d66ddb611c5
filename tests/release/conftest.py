"""Session fixtures for the release tests: vendored wheels and an installed package layout.

Building the layout is the slow part (``pip wheel`` of this repository, ``pip download`` of
the pinned dependencies for this interpreter, then the packages' own packaging scripts), so
it happens once per session; the wheels once per run, also when pytest-xdist workers share it.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from .harness import RELEASE

DIRECTOR_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def load_script(name: str) -> ModuleType:
    """Import ``release/scripts/<name>.py`` (the scripts are not a package)."""
    module_name = f"release_script_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, RELEASE / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def build_blobs() -> ModuleType:
    return load_script("build_blobs")


@dataclass(frozen=True)
class Wheels:
    own: Path  # release/src/cloudstack_cpi/wheels stand-in
    vendor: Path  # blobs/cloudstack_cpi/vendor stand-in (this interpreter's platform only)


WHEELS_WAIT = 1200.0
"""Seconds a pytest-xdist worker waits for another worker's wheel build (it takes minutes on a busy machine)."""


@pytest.fixture(scope="session")
def release_wheels(tmp_path_factory: pytest.TempPathFactory, build_blobs: ModuleType) -> Wheels:
    """The wheels, built once per run: pytest-xdist workers share one build in the run's temp dir
    (the first to take the lock builds, the others wait for it), as a single process would."""
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "release-wheels"
    root.mkdir(exist_ok=True)
    own, vendor, done = root / "wheels", root / "vendor", root / "built"
    with open(root / ".lock", "w") as lock:
        deadline = time.monotonic() + WHEELS_WAIT
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(f"another worker held {root}/.lock for {WHEELS_WAIT:.0f} s building the wheels")
                time.sleep(0.5)
        if not done.exists():
            shutil.rmtree(own, ignore_errors=True)
            shutil.rmtree(vendor, ignore_errors=True)
            try:
                build_blobs.build_own_wheels(own)
                build_blobs.download_vendor(vendor, targets=None)
            except subprocess.CalledProcessError as exc:
                pytest.fail(f"building the release wheels failed: {exc}")
            done.touch()
    return Wheels(own, vendor)


def _base_python() -> str:
    """The interpreter under the venv: a python without this project installed."""
    return getattr(sys, "_base_executable", None) or sys.executable


def run_packaging(package: str, compile_dir: Path, packages_dir: Path, path: str) -> subprocess.CompletedProcess:
    """Run ``packages/<package>/packaging`` as the bosh CLI does: bash, only PATH and BOSH_* set."""
    env = {
        "PATH": path,
        "BOSH_COMPILE_TARGET": str(compile_dir),
        "BOSH_INSTALL_TARGET": str(packages_dir / package),
        "BOSH_PACKAGE_NAME": package,
        "BOSH_PACKAGES_DIR": str(packages_dir),
    }
    return subprocess.run(["bash", "-x", str(RELEASE / "packages" / package / "packaging")], cwd=compile_dir,
                          env=env, capture_output=True, text=True, timeout=300)


@dataclass(frozen=True)
class Installation:
    root: Path
    packages: Path
    fake_bin: Path


@pytest.fixture(scope="session")
def installation(tmp_path_factory: pytest.TempPathFactory, release_wheels: Wheels) -> Installation:
    """``packages/{python3,cloudstack_cpi}`` built by the release's packaging scripts.

    python3 runs its macOS branch (a fake ``uname`` says Darwin) and so links this machine's
    interpreter, exactly what create-env on a Mac does; cloudstack_cpi installs offline from
    the session's wheels.
    """
    root = tmp_path_factory.mktemp("bosh")
    packages = root / "packages"
    packages.mkdir()
    fake_bin = root / "fakebin"
    fake_bin.mkdir()
    (fake_bin / "uname").write_text("#!/bin/sh\necho Darwin\n")
    (fake_bin / "uname").chmod(0o755)
    (fake_bin / "python3").symlink_to(_base_python())

    python_compile = root / "compile" / "python3"
    python_compile.mkdir(parents=True)
    done = run_packaging("python3", python_compile, packages, f"{fake_bin}:{DIRECTOR_PATH}")
    assert done.returncode == 0, done.stderr

    cpi_compile = root / "compile" / "cloudstack_cpi"
    shutil.copytree(release_wheels.own, cpi_compile / "cloudstack_cpi" / "wheels")
    shutil.copytree(release_wheels.vendor, cpi_compile / "cloudstack_cpi" / "vendor")
    done = run_packaging("cloudstack_cpi", cpi_compile, packages, DIRECTOR_PATH)
    assert done.returncode == 0, done.stdout + done.stderr
    return Installation(root, packages, fake_bin)


def director_env(home: Path, **extra: str) -> dict[str, str]:
    """What the director gives bin/cpi: PATH, HOME, TMPDIR (plus ``extra``)."""
    tmp = home / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    return {"PATH": DIRECTOR_PATH, "HOME": str(home), "TMPDIR": str(tmp), **extra}


@pytest.fixture
def ci() -> bool:
    return bool(os.environ.get("CI"))
