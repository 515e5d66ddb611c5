"""The release directory is a BOSH release whose packages get what their specs name."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import yaml

from .harness import JOB, RELEASE

BUILT_BY_SCRIPT = {"cloudstack_cpi/wheels/*.whl"}  # src/ files build_blobs.py makes from this repository


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def blobs() -> dict:
    return load(RELEASE / "config" / "blobs.yml") or {}


def test_final_yml_names_the_release_and_a_blobstore() -> None:
    final = load(RELEASE / "config" / "final.yml")
    assert final["name"] == "cloudstack-cpi"
    assert final["blobstore"]["provider"] in {"local", "s3", "gcs"}


def test_job_templates_packages_and_monit_exist() -> None:
    spec = load(JOB / "spec")
    for template in spec["templates"]:
        assert (JOB / "templates" / template).is_file(), template
    for package in spec["packages"]:
        assert (RELEASE / "packages" / package / "spec").is_file(), package
        assert (RELEASE / "packages" / package / "packaging").is_file(), package
    assert (JOB / "monit").read_text().strip() == "", "no daemon: monit stays empty"


def test_package_specs_name_themselves_and_existing_dependencies() -> None:
    for package_dir in (RELEASE / "packages").iterdir():
        spec = load(package_dir / "spec")
        assert spec["name"] == package_dir.name
        for dependency in spec.get("dependencies") or []:
            assert (RELEASE / "packages" / dependency).is_dir(), dependency


def test_every_package_file_is_a_blob_or_built_by_the_script() -> None:
    names = list(blobs())
    for package_dir in (RELEASE / "packages").iterdir():
        for pattern in load(package_dir / "spec").get("files") or []:
            if pattern in BUILT_BY_SCRIPT:
                continue
            assert fnmatch.filter(names, pattern), f"{package_dir.name}: no blob matches {pattern}"


def test_every_blob_is_produced_by_the_script(build_blobs) -> None:
    pins = build_blobs.pinned()
    vendored: set[str] = set()
    for name, entry in blobs().items():
        assert entry["sha"].startswith("sha256:") and entry["size"] > 0, name
        folder, _, filename = name.rpartition("/")
        if folder == build_blobs.VENDOR_BLOB_DIR:
            dist, version = build_blobs.wheel_dist(filename)
            assert pins.get(dist) == version, f"{name} is not a pinned requirement"
            vendored.add(dist)
        else:
            assert folder == build_blobs.PYTHON_BLOB_DIR and filename.startswith("Python-3."), name
    assert vendored == set(pins), "a pinned requirement has no vendored wheel"


def test_vendored_wheels_cover_every_target(build_blobs) -> None:
    vendor = [n.rpartition("/")[2] for n in blobs() if n.startswith(build_blobs.VENDOR_BLOB_DIR + "/")]
    binary = {build_blobs.wheel_dist(n)[0] for n in vendor if not n.endswith("-none-any.whl")}
    for target in build_blobs.TARGETS:
        tag = "cp" + target.python_version.replace(".", "")
        os_word = "manylinux" if target.platform.startswith("manylinux") else "macosx"
        for dist in binary:
            assert any(build_blobs.wheel_dist(n)[0] == dist and f"-{tag}-" in n and os_word in n for n in vendor), (
                f"no {dist} wheel for {target}")


def test_pins_are_the_complete_dependency_closure(build_blobs, release_wheels) -> None:
    downloaded = {build_blobs.wheel_dist(p.name) for p in release_wheels.vendor.glob("*.whl")}
    assert downloaded == set(build_blobs.pinned().items())


def test_own_wheels_are_the_framework_and_every_shipped_plugin(release_wheels, build_blobs) -> None:
    from cpi_framework.plugin_system.manager import SHIPPED_DISTRIBUTIONS

    built = {build_blobs.wheel_dist(p.name)[0] for p in release_wheels.own.glob("*.whl")}
    assert built == {"cpi-framework", *SHIPPED_DISTRIBUTIONS}
