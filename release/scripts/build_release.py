#!/usr/bin/env python3
"""Build a deployable CPI release tarball from a clone, in one command.

    .venv/bin/python release/scripts/build_release.py [--bosh PATH] [--out FILE]

What it does, in a copy of ``release/`` under ``build/release/`` (the clone stays as it is):

1. the wheels of this repository and the pinned dependencies (``build_blobs.py``; needs the
   package registries: PyPI, and Debian's source archive for step 2);
2. the CPython source for the ``python3`` package: by default Debian's ``python3.11`` source
   package **with Debian's patches applied** (``dpkg-source -x``: Debian's security fixes
   on top of upstream 3.11.2, so the release does not carry the bare 3.11.2 tarball);
   or ``--python-source`` with a python.org tarball of your choice;
3. ``config/blobs.yml`` for those blobs, then ``bosh create-release --force --tarball``.

It refuses, saying why, rather than build a release with an unpatched interpreter:
without ``dpkg-source`` (Debian/Ubuntu package ``dpkg-dev``) and without ``--python-source``
there is no patched source to use. ``--host-python`` builds a release whose ``python3``
package links the building machine's own ``python3`` instead of compiling one: only for
``bosh create-env`` on that same machine (the e2e tests use it); a director never gets it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_blobs  # noqa: E402

RELEASE = build_blobs.RELEASE
REPO = build_blobs.REPO
DEFAULT_WORK = REPO / "build" / "release"
HOST_PYTHON_BLOB = "Python-3.host-interpreter"
HOST_PYTHON_NOTE = (
    "# The python3 package links the interpreter of the machine that runs `bosh create-env`\n"
    "# (release/packages/python3/packaging). Built by build_release.py --host-python; never\n"
    "# deploy this release with a director.\n"
)


class BuildError(Exception):
    """A step cannot run; the message says what to install or pass instead."""


def patched_debian_source(workdir: Path) -> Path:
    """Debian's python3.11 source with its patch series applied, repacked as ``Python-<v>-debian-<revision>.tar.gz``."""
    if shutil.which("dpkg-source") is None:
        raise BuildError(
            "no dpkg-source: the default CPython comes from Debian's python3.11 source package with Debian's "
            "(security) patches applied, which needs the Debian/Ubuntu package dpkg-dev. Install it "
            "(apt-get install dpkg-dev), or pass --python-source with a current python.org CPython tarball. "
            "Refusing to build a release around the unpatched 3.11.2 tarball.")
    lists = workdir / "lists"
    (lists / "partial").mkdir(parents=True)
    sources = workdir / "sources.list"
    sources.write_text(build_blobs.DEBIAN_SOURCES, encoding="utf-8")
    options = ["-o", f"Dir::Etc::SourceList={sources}", "-o", "Dir::Etc::SourceParts=/dev/null",
               "-o", f"Dir::State::Lists={lists}"]
    for args in (["update"], ["source", "--download-only", build_blobs.DEBIAN_PYTHON]):
        print("+ apt-get", " ".join(args), file=sys.stderr)
        subprocess.run(["apt-get", "-qq", *options, *args], check=True, cwd=workdir)
    dsc = sorted(workdir.glob(f"{build_blobs.DEBIAN_PYTHON}_*.dsc"))
    if not dsc:
        raise BuildError(f"apt-get source {build_blobs.DEBIAN_PYTHON} gave no .dsc in {workdir}")
    tree = workdir / "tree"
    print(f"+ dpkg-source -x {dsc[0].name} (applies Debian's patch series)", file=sys.stderr)
    subprocess.run(["dpkg-source", "--no-check", "-x", str(dsc[0]), str(tree)], check=True, cwd=workdir,
                   stdout=subprocess.DEVNULL)
    upstream, _, debian_revision = dsc[0].stem.split("_", 1)[1].partition("-")
    patches = (tree / "debian" / "patches" / "series").read_text(encoding="utf-8").split()
    shutil.rmtree(tree / "debian")
    (tree / "DEBIAN-PATCHES.txt").write_text(
        f"Debian {build_blobs.DEBIAN_PYTHON} {upstream}-{debian_revision}: upstream CPython {upstream} with "
        "these patches applied (dpkg-source -x):\n" + "\n".join(patches) + "\n", encoding="utf-8")
    out = workdir / f"Python-{upstream}-debian-{debian_revision}.tar.gz"
    with tarfile.open(out, "w:gz") as tar:
        tar.add(tree, arcname=f"Python-{upstream}")
    print(f"python3: Debian {upstream}-{debian_revision}, {len(patches)} patches applied", file=sys.stderr)
    return out


def place_python(blobs: Path, source: Path | None, host_python: bool, workdir: Path) -> str:
    dest = blobs / build_blobs.PYTHON_BLOB_DIR
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    if host_python:
        (dest / HOST_PYTHON_BLOB).write_text(HOST_PYTHON_NOTE, encoding="utf-8")
        return "the host's python3 (create-env on this machine only)"
    if source is None:
        source = patched_debian_source(workdir)
    version = build_blobs._tarball_version(source)
    suffix = next((s for s in build_blobs.TARBALL_SUFFIXES if source.name.endswith(s)), None)
    if suffix is None:
        raise BuildError(f"{source}: not a .tar.gz/.tgz/.tar.xz/.tar.bz2 tarball")
    name = source.name if source.name.startswith(f"Python-{version}") else f"Python-{version}{suffix}"
    shutil.copyfile(source, dest / name)
    return f"CPython {version} from {source.name}"


def copy_release(work: Path) -> Path:
    """``release/`` without its build outputs, into ``work/release`` (fresh each time)."""
    target = work / "release"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(RELEASE, target, ignore=shutil.ignore_patterns(
        "blobs", ".blobs", "src", ".dev_builds", "dev_releases", "*.tgz", "__pycache__"))
    return target


def build(bosh: str, out: Path, work: Path, python_source: Path | None, host_python: bool,
          host_wheels: bool, version: str | None) -> Path:
    release = copy_release(work)
    blobs = release / "blobs"
    with tempfile.TemporaryDirectory(prefix="cpi-release-", dir=work) as tmp:
        interpreter = place_python(blobs, python_source, host_python, Path(tmp))
    build_blobs.build_own_wheels(release / "src" / "cloudstack_cpi" / "wheels")
    build_blobs.download_vendor(blobs / build_blobs.VENDOR_BLOB_DIR, None if host_wheels else build_blobs.TARGETS)
    build_blobs.write_blobs_yml(blobs, release / "config" / "blobs.yml")
    out.parent.mkdir(parents=True, exist_ok=True)
    command = [bosh, "create-release", "--dir", str(release), "--force", "--tarball", str(out.resolve())]
    if version:
        command += ["--version", version]
    print("+", " ".join(command), file=sys.stderr)
    subprocess.run(command, check=True)
    print(f"release: {out} (python3: {interpreter})")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bosh", default=os.environ.get("BOSH_CLI", "bosh"), help="the bosh CLI (default: bosh)")
    parser.add_argument("--out", type=Path, default=REPO / "dist" / "cloudstack-cpi-release.tgz",
                        help="release tarball to write (default: dist/cloudstack-cpi-release.tgz)")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK, help=argparse.SUPPRESS)
    parser.add_argument("--version", help="release version (default: the CLI's next dev version)")
    parser.add_argument("--python-source", type=Path, help="a CPython source tarball instead of Debian's patched one")
    parser.add_argument("--host-python", action="store_true",
                        help="link the building machine's python3 (create-env on this machine only; tests)")
    parser.add_argument("--host-wheels", action="store_true",
                        help="vendor wheels for this interpreter only (with --host-python)")
    args = parser.parse_args(argv)
    if args.host_wheels and not args.host_python:
        parser.error("--host-wheels only fits --host-python: the compiled python3 is CPython 3.11 on Linux x86_64")
    if shutil.which(args.bosh) is None:
        print(f"build_release: no bosh CLI at {args.bosh!r}; install it or pass --bosh PATH", file=sys.stderr)
        return 2
    args.work_dir.mkdir(parents=True, exist_ok=True)
    try:
        build(args.bosh, args.out, args.work_dir, args.python_source, args.host_python, args.host_wheels,
              args.version)
    except BuildError as err:
        print(f"build_release: {err}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as err:
        print(f"build_release: {' '.join(map(str, err.cmd))} failed (exit {err.returncode})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
