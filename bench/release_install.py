"""The CPI installed the way the release installs it, for benchmarks that measure start-up.

An editable checkout is not what runs in production: its import hooks (``__editable__`` finders),
the venv's ``site`` processing and ``.pth`` files all cost time the release never pays, and they
hide what the real install pays. The release (``release/packages/cloudstack_cpi/packaging``)
installs wheels with ``pip install --target lib/python`` and runs them through a wrapper::

    python3 -I -S -c 'import sys; sys.path.insert(0, sys.argv.pop(1)); from cpi_framework.cli import main; ...'

This module builds the same layout once per source tree: ``pip wheel --no-deps`` of this
repository and the three shipped plugins, installed with ``--target`` together with the
dependency closure copied file by file (from each distribution's RECORD) out of the
repository's ``.venv``, so no package index is needed once the wheels are built. The
install is cached under ``.bench-release/<hash of the sources>``; the interpreter is the venv's
base CPython run with the wrapper's ``-I -S``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROJECTS = (REPO, REPO / "plugins" / "xen", REPO / "plugins" / "kvm", REPO / "plugins" / "vmware")
CACHE = REPO / ".bench-release"
WRAPPER_CODE = ("import sys; sys.path.insert(0, sys.argv.pop(1)); from cpi_framework.cli import main; "
                "raise SystemExit(main())")
"""``bin/cloudstack-cpi``'s Python line, verbatim (release/packages/cloudstack_cpi/packaging)."""
ROOTS = ("cpi-framework",)
STALE_AFTER = 24 * 3600
"""A run that edits the sources mid-way builds a second install; the first stays for the running one."""


def interpreter() -> str:
    """The base CPython behind the venv: with ``-I -S`` it sees the stdlib and the install only."""
    return getattr(sys, "_base_executable", None) or sys.executable


def source_hash() -> str:
    digest = hashlib.sha256()
    for project in PROJECTS:
        files = [project / "pyproject.toml"]
        for package in ("cpi_framework", "cloudstack_simulator", "cpi_framework_xen", "cpi_framework_kvm",
                        "cpi_framework_vmware"):
            files += sorted((project / package).rglob("*.py")) if (project / package).is_dir() else []
        for path in files:
            if path.exists():
                digest.update(str(path.relative_to(REPO)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _requirement_names(dist: importlib.metadata.Distribution) -> list[str]:
    names = []
    for requirement in dist.requires or []:
        if "extra ==" in requirement:
            continue
        names.append(re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0])
    return names


def dependency_closure(roots: tuple[str, ...] = ROOTS) -> list[importlib.metadata.Distribution]:
    """The installed distributions ``roots`` need, roots excluded."""
    seen: dict[str, importlib.metadata.Distribution] = {}
    todo = [name for root in roots for name in _requirement_names(importlib.metadata.distribution(root))]
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        dist = importlib.metadata.distribution(name)
        seen[key] = dist
        todo += _requirement_names(dist)
    return list(seen.values())


def _copy_distribution(dist: importlib.metadata.Distribution, target: Path) -> None:
    base = Path(str(dist.locate_file("")))
    for file in dist.files or []:
        source = base / file
        if file.parts[0] == ".." or "__pycache__" in file.parts or not source.is_file():
            continue
        destination = target / file
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)


def ensure_install() -> Path:
    """The ``lib/python`` directory of a release-style install of the current sources."""
    home = CACHE / source_hash()
    lib = home / "lib" / "python"
    if (home / "ready").exists():
        return lib
    shutil.rmtree(home, ignore_errors=True)
    wheels = home / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), *map(str, PROJECTS)], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([*pip, "install", "--no-deps", "--no-index", "--target", str(lib),
                    *map(str, sorted(wheels.glob("*.whl")))], check=True, stdout=subprocess.DEVNULL)
    for dist in dependency_closure():
        _copy_distribution(dist, lib)
    # Compile once, as the first real call on a BOSH VM would; every measured call then reads .pyc.
    subprocess.run([interpreter(), "-I", "-S", "-m", "compileall", "-q", str(lib)], check=False,
                   stdout=subprocess.DEVNULL)
    (home / "ready").write_text("")
    for stale in CACHE.iterdir():  # installs of older sources, once no run can still use them
        if stale != home and stale.is_dir() and time.time() - stale.stat().st_mtime > STALE_AFTER:
            shutil.rmtree(stale, ignore_errors=True)
    return lib


def cpi_command(lib: Path) -> list[str]:
    """``bin/cloudstack-cpi`` without its ``/bin/sh`` hop: the interpreter line the wrapper execs."""
    return [interpreter(), "-I", "-S", "-c", WRAPPER_CODE, str(lib)]


def bare_command() -> list[str]:
    """A bare start of the same interpreter with the same flags: the floor of every call."""
    return [interpreter(), "-I", "-S", "-c", "pass"]


if __name__ == "__main__":
    print(ensure_install())
