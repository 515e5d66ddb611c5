#!/usr/bin/env python3
"""Build everything the release's packages consume: wheels, vendored wheels, Python source.

* ``src/cloudstack_cpi/wheels/``: this repository's wheels (cpi-framework and the shipped
  plugins), rebuilt on every run with ``pip wheel --no-deps`` (not committed).
* ``blobs/cloudstack_cpi/vendor/``: the pinned dependencies of ``vendor-requirements.txt``
  as wheels for every target (Linux x86_64 with the python3 package's CPython, and macOS
  hosts running ``bosh create-env`` with their own python3).
* ``blobs/python3/Python-<version>.<ext>``: the CPython source tarball, from
  ``--python-source`` (a python.org tarball) or else Debian's ``python3.11`` source package
  with Debian's patches applied (``dpkg-source -x``; refused without dpkg-source).
* ``config/blobs.yml``: rewritten from ``blobs/`` (sha256 and size; object ids of unchanged
  blobs kept). ``bosh upload-blobs`` then stores new blobs in the final.yml blobstore.

Needs pip and network access to the package registries. Usage::

    .venv/bin/python release/scripts/build_blobs.py [--python-source Python-3.11.x.tgz]
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RELEASE = Path(__file__).resolve().parent.parent
REPO = RELEASE.parent
PROJECTS = (REPO, REPO / "plugins" / "xen", REPO / "plugins" / "kvm", REPO / "plugins" / "vmware")
REQUIREMENTS = RELEASE / "scripts" / "vendor-requirements.txt"
WHEELS_DIR = RELEASE / "src" / "cloudstack_cpi" / "wheels"
BLOBS_DIR = RELEASE / "blobs"
VENDOR_BLOB_DIR = "cloudstack_cpi/vendor"
PYTHON_BLOB_DIR = "python3"
BLOBS_YML = RELEASE / "config" / "blobs.yml"
DEBIAN_PYTHON = "python3.11"
DEBIAN_SOURCES = (
    "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main\n"
)
TARBALL_SUFFIXES = (".tar.gz", ".tgz", ".tar.xz", ".tar.bz2")


@dataclass(frozen=True)
class Target:
    """A platform the vendored wheels must cover (binary wheels: PyYAML)."""

    platform: str
    python_version: str


TARGETS = (
    Target("manylinux2014_x86_64", "3.11"),  # the python3 package compiles CPython 3.11
    *(Target(f"macosx_14_0_{arch}", version) for arch in ("arm64", "x86_64") for version in ("3.11", "3.12", "3.13")),
)


def pinned() -> dict[str, str]:
    """``{normalised distribution name: version}`` from vendor-requirements.txt."""
    pins = {}
    for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[normalise(name)] = version.strip()
    return pins


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_dist(filename: str) -> tuple[str, str]:
    """``(normalised name, version)`` of a wheel file name."""
    name, version = filename.split("-")[:2]
    return normalise(name), version


def _pip(*args: str, cwd: Path | None = None) -> None:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    print("+", " ".join(command), file=sys.stderr)
    subprocess.run(command, check=True, cwd=cwd)


def build_own_wheels(dest: Path) -> list[Path]:
    """Wheels of cpi-framework and the shipped plugins (old ones removed first)."""
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("*.whl"):
        old.unlink()
    # Building from a copy keeps build/ and *.egg-info out of the work tree.
    with tempfile.TemporaryDirectory(prefix="cpi-wheels-") as tmp:
        sources = []
        for project in PROJECTS:
            copy = Path(tmp) / project.name
            shutil.copytree(project, copy, ignore=shutil.ignore_patterns(
                ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "release", "plugins",
                "tests", "bench", "docs"))
            sources.append(str(copy))
        _pip("wheel", "--no-deps", *_build_backend_options(Path(tmp) / "backend"), "-w", str(dest), *sources)
    return sorted(dest.glob("*.whl"))


def _build_backend_options(workdir: Path) -> list[str]:
    """Build offline when this interpreter has the backend, else from one local setuptools wheel.

    Each isolated build otherwise asks the index for setuptools again (four builds, seconds each).
    """
    try:
        import setuptools  # noqa: F401
        import wheel  # noqa: F401

        return ["--no-build-isolation"]
    except ImportError:
        _pip("download", "--only-binary=:all:", "-d", str(workdir), "setuptools>=70.1")
        return ["--no-index", "--find-links", str(workdir)]


def download_vendor(dest: Path, targets: tuple[Target, ...] | None = TARGETS) -> list[Path]:
    """The pinned dependencies as wheels; ``targets=None`` downloads for this interpreter only."""
    dest.mkdir(parents=True, exist_ok=True)
    base = ["download", "--only-binary=:all:", "-r", str(REQUIREMENTS), "-d", str(dest)]
    if targets is None:
        _pip(*base)
    for target in targets or ():
        _pip(*base, "--platform", target.platform, "--python-version", target.python_version,
             "--implementation", "cp")
    return sorted(dest.glob("*.whl"))


def python_source(dest_dir: Path, source: Path | None) -> Path:
    """Copy the CPython tarball to ``python3/Python-<version>.<ext>`` (Debian's when not given)."""
    with tempfile.TemporaryDirectory(prefix="cpi-python-src-") as tmp:
        if source is None:
            source = _debian_source(Path(tmp))
        version = _tarball_version(source)
        suffix = next((s for s in TARBALL_SUFFIXES if source.name.endswith(s)), None)
        if suffix is None:
            raise SystemExit(f"{source}: not a .tar.gz/.tgz/.tar.xz/.tar.bz2 tarball")
        dest_dir.mkdir(parents=True, exist_ok=True)
        for old in dest_dir.glob("Python-3.*"):
            old.unlink()
        name = source.name if source.name.startswith(f"Python-{version}") else f"Python-{version}{suffix}"
        target = dest_dir / name
        shutil.copyfile(source, target)
        return target


def _tarball_version(path: Path) -> str:
    with tarfile.open(path) as tar:
        top = tar.next()
    match = re.fullmatch(r"Python-(3\.\d+\.\d+)", (top.name if top else "").split("/")[0])
    if not match:
        raise SystemExit(f"{path}: not a CPython source tarball (no top-level Python-3.x.y/ directory)")
    return match.group(1)


def _debian_source(workdir: Path) -> Path:
    """Debian's python3.11 source with Debian's (security) patches applied: ``build_release.patched_debian_source``.

    The bare ``.orig`` tarball is upstream 3.11.2 without those fixes; it is never used.
    """
    from build_release import BuildError, patched_debian_source

    try:
        return patched_debian_source(workdir)
    except BuildError as err:
        raise SystemExit(f"build_blobs: {err}") from None


def blob_entries(blobs_dir: Path, previous: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """blobs.yml entries for every file under ``blobs_dir``, keeping unchanged blobs' object ids."""
    previous = previous or {}
    entries: dict[str, dict[str, Any]] = {}
    for path in sorted(p for p in blobs_dir.rglob("*") if p.is_file()):
        name = path.relative_to(blobs_dir).as_posix()
        entry: dict[str, Any] = {"size": path.stat().st_size, "sha": "sha256:" + _sha256(path)}
        old = previous.get(name) or {}
        if old.get("sha") == entry["sha"] and old.get("object_id"):
            entry["object_id"] = old["object_id"]
        entries[name] = entry
    return entries


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_blobs_yml(blobs_dir: Path = BLOBS_DIR, path: Path = BLOBS_YML) -> None:
    import yaml

    previous = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    entries = blob_entries(blobs_dir, previous)
    # Written by hand: PyYAML turns keys over 128 characters (manylinux wheel names) into "? key".
    lines = ["---"]
    for name, entry in entries.items():
        lines.append(f"{name}:")
        lines += [f"  {key}: {entry[key]}" for key in ("object_id", "sha", "size") if key in entry]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {path} ({len(entries)} blobs)", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python-source", type=Path, help="CPython source tarball (default: Debian's python3.11)")
    parser.add_argument("--skip-python", action="store_true", help="keep the python3 blob as it is")
    parser.add_argument("--host-only", action="store_true",
                        help="vendor wheels for this interpreter only and leave blobs.yml alone (local builds)")
    args = parser.parse_args(argv)

    build_own_wheels(WHEELS_DIR)
    vendor = BLOBS_DIR / VENDOR_BLOB_DIR
    if vendor.exists():
        shutil.rmtree(vendor)
    download_vendor(vendor, None if args.host_only else TARGETS)
    if not args.skip_python:
        python_source(BLOBS_DIR / PYTHON_BLOB_DIR, args.python_source)
    if args.host_only:
        print("build_blobs: WARNING --host-only: config/blobs.yml is left as it is, so `bosh create-release` in "
              "release/ packages the blobs listed there, not these. For a local release tarball use "
              "release/scripts/build_release.py (--host-python for create-env on this machine).", file=sys.stderr)
    else:
        write_blobs_yml()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
