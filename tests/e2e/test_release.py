"""Issue 17 item 2: the release builds with the real bosh CLI, and every manifest and ops file
interpolates with the real ``bosh int`` against bosh-deployment's ``bosh.yml``."""

from __future__ import annotations

import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from .harness import BOSH_DEPLOYMENT, E2E_OPS, MANIFESTS, REPO, bosh, run_logged, step, tools_dir

# Every variable the ops files introduce, with a plausible operator value.
OPERATOR_VARS = {
    "director_name": "bosh-1", "internal_ip": "10.0.1.6", "internal_gw": "10.0.1.1", "internal_cidr": "10.0.1.0/24",
    "cloudstack_cpi_release_url": "file:///tmp/cloudstack-cpi.tgz", "cloudstack_cpi_release_sha1": "0" * 40,
    "cloudstack_stemcell_url": "file:///tmp/stemcell.tgz", "cloudstack_stemcell_sha1": "1" * 40,
    "cloudstack_compute_offering": "Medium Instance", "cloudstack_ephemeral_disk_offering": "Custom",
    "cloudstack_disk_offering": "Custom", "cloudstack_network_name": "bosh-net",
    "cloudstack_endpoint": "https://cloud.example.com/client/api", "cloudstack_api_key": "key",
    "cloudstack_secret_access_key": "secret", "cloudstack_zone": "zone-1", "cloudstack_default_key_name": "bosh",
}
CLOUD_CONFIG_VARS = {
    "zone_1": "zone-1", "zone_2": "zone-2", "compute_offering": "Medium Instance",
    "custom_compute_offering": "Custom", "ephemeral_disk_offering": "Custom", "disk_offering": "Custom",
    "internal_cidr": "10.0.1.0/24", "internal_gw": "10.0.1.1", "dns": "10.0.1.2", "reserved_range": "10.0.1.2-10.0.1.9",
    "network_name_1": "bosh-net", "internal_cidr_2": "10.0.2.0/24", "internal_gw_2": "10.0.2.1",
    "reserved_range_2": "10.0.2.2-10.0.2.9", "network_name_2": "bosh-net-2",
}
OPS_COMBINATIONS = [
    ["cpi.yml"], ["cpi.yml", "kvm.yml"], ["cpi.yml", "vmware.yml"], ["cpi.yml", "legacy-registry.yml"],
]


def _vars(values: dict[str, str]) -> list[str]:
    return [arg for key, value in values.items() for arg in ("-v", f"{key}={value}")]


def test_every_ops_file_is_exercised() -> None:
    shipped = {p.name for p in MANIFESTS.glob("*.yml")} - {"cloud-config.yml"}
    assert shipped == {name for combo in OPS_COMBINATIONS for name in combo}


@pytest.mark.parametrize("ops", OPS_COMBINATIONS, ids=lambda ops: "+".join(o[:-4] for o in ops))
def test_ops_files_interpolate_against_bosh_deployment(ops: list[str], tmp_path: Path, bosh_home: Path) -> None:
    step(f"bosh int bosh.yml -o {' -o '.join(ops)} --var-errs")
    args = ["int", str(BOSH_DEPLOYMENT / "bosh.yml")]
    for name in ops:
        args += ["-o", str(MANIFESTS / name)]
    out = bosh([*args, "--var-errs", "--vars-store", str(tmp_path / "creds.yml"), *_vars(OPERATOR_VARS)],
               home=bosh_home)
    manifest = yaml.safe_load(out)
    group = next(g for g in manifest["instance_groups"] if g["name"] == "bosh")
    assert {"name": "cloudstack_cpi", "release": "cloudstack-cpi"} in group["jobs"]
    assert manifest["cloud_provider"]["template"] == {"name": "cloudstack_cpi", "release": "cloudstack-cpi"}
    hypervisor = next((o[:-4] for o in ops if o in ("kvm.yml", "vmware.yml")), "xen")
    assert group["properties"]["cloudstack"]["hypervisor"] == hypervisor
    assert manifest["cloud_provider"]["properties"]["cloudstack"]["hypervisor"] == hypervisor


def test_cloud_config_interpolates(bosh_home: Path) -> None:
    step("bosh int cloudstack/cloud-config.yml --var-errs")
    out = bosh(["int", str(MANIFESTS / "cloud-config.yml"), "--var-errs", *_vars(CLOUD_CONFIG_VARS)], home=bosh_home)
    assert "((" not in out


def test_e2e_ops_file_interpolates(tmp_path: Path, bosh_home: Path) -> None:
    """The e2e's own ops file sits on the same stack (it fails here first, not mid create-env)."""
    args = ["int", str(BOSH_DEPLOYMENT / "bosh.yml"), "-o", str(MANIFESTS / "cpi.yml"), "-o", str(E2E_OPS)]
    extra = {"e2e_minimal_release_url": "file:///tmp/m.tgz", "e2e_minimal_release_sha1": "2" * 40,
             "persistent_disk_size": "10240", "agent_blobstore_path": "/tmp/blobs"}
    out = bosh([*args, "--var-errs", "--vars-store", str(tmp_path / "c.yml"), *_vars({**OPERATOR_VARS, **extra})],
               home=bosh_home)
    assert yaml.safe_load(out)["instance_groups"][0]["jobs"] == [{"name": "hello", "release": "e2e-minimal"}]


def test_create_release_builds_the_deployable_tarball(e2e_dir: Path) -> None:
    """The operators' one command (release/scripts/build_release.py): Debian's patched CPython by default."""
    out = e2e_dir / "cloudstack-cpi.tgz"
    step("building the release as an operator would: build_release.py (Debian-patched CPython, all wheels)")
    run_logged([sys.executable, str(REPO / "release" / "scripts" / "build_release.py"), "--bosh",
                str(tools_dir() / "bosh"), "--out", str(out), "--work-dir", str(e2e_dir / "release-real")],
               e2e_dir / "build-release.log")
    with tarfile.open(out) as tar:
        member = {m.name.removeprefix("./"): m for m in tar.getmembers()}
        manifest = yaml.safe_load(tar.extractfile(member["release.MF"]).read())  # type: ignore[union-attr]
        packages = {p["name"]: p for p in manifest["packages"]}
        assert set(packages) == {"python3", "cloudstack_cpi"}
        assert [j["name"] for j in manifest["jobs"]] == ["cloudstack_cpi"]
        with tarfile.open(fileobj=tar.extractfile(member["packages/python3.tgz"])) as python3:
            names = python3.getnames()
    source = [n for n in names if "Python-3" in n]
    assert len(source) == 1 and "-debian-" in source[0], f"the python3 package should carry Debian's patched " \
                                                         f"source: {names}"
    step(f"release {manifest['name']}/{manifest['version']}: python3 from {source[0].split('/')[-1]}")
