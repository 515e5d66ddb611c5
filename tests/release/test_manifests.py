"""The ops files apply to a bosh.yml-shaped manifest and give the CPI valid job properties."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from config_equivalence import accepted_by_both

from .harness import RELEASE, SPEC, apply_ops, interpolate, leaves, render

OPS = RELEASE / "manifests" / "cloudstack"
SKELETON = Path(__file__).parent / "fixtures" / "bosh-skeleton.yml"
VARS = {
    "internal_ip": "10.0.0.6", "internal_cidr": "10.0.0.0/24", "internal_gw": "10.0.0.1",
    "cloudstack_endpoint": "https://cloud.example.com/client/api", "cloudstack_api_key": "key",
    "cloudstack_secret_access_key": "secret", "cloudstack_zone": "zone-1", "cloudstack_default_key_name": "bosh-key",
    "cloudstack_disk_offering": "disk-custom", "cloudstack_ephemeral_disk_offering": "disk-custom",
}
# cloud_properties keys the CPI reads (docs/vms.md, docs/disks.md); plugins may add more.
VM_KEYS = {"compute_offering", "cpu", "ram", "cpu_speed", "disk", "ephemeral_disk_offering", "root_disk_size",
           "affinity_group", "affinity_group_type"}


def ops(name: str) -> list[dict[str, Any]]:
    return yaml.safe_load((OPS / name).read_text())


def director(*extra: str) -> dict[str, Any]:
    manifest = yaml.safe_load(SKELETON.read_text())
    for name in ("cpi.yml", *extra):
        manifest = apply_ops(manifest, ops(name))
    return interpolate(manifest, VARS)


def spec_names() -> set[str]:
    return set(yaml.safe_load(SPEC.read_text())["properties"])


def cpi_properties(properties: dict[str, Any]) -> dict[str, Any]:
    return {key: properties[key] for key in ("cloudstack", "cpi", "env") if key in properties}


def check_properties(properties: dict[str, Any]) -> Any:
    """Every CloudStack/CPI key is a job property (none silently dropped) and renders a valid config."""
    names = spec_names()
    for dotted in leaves(properties):
        assert any(dotted == n or dotted.startswith(n + ".") for n in names), f"{dotted} is not a job property"
    return accepted_by_both(json.loads(render("cpi.json.erb", properties)), "cpi.json")


@pytest.mark.parametrize("extra", [(), ("kvm.yml",), ("vmware.yml",), ("legacy-registry.yml",)])
def test_director_and_create_env_properties_are_valid(extra: tuple[str, ...]) -> None:
    manifest = director(*extra)
    bosh = next(group for group in manifest["instance_groups"] if group["name"] == "bosh")
    assert {"name": "cloudstack_cpi", "release": "cloudstack-cpi"} in bosh["jobs"]
    assert bosh["properties"]["director"]["cpi_job"] == "cloudstack_cpi"
    assert manifest["cloud_provider"]["template"] == {"name": "cloudstack_cpi", "release": "cloudstack-cpi"}
    assert any(release["name"] == "cloudstack-cpi" for release in manifest["releases"])

    on_director = check_properties(cpi_properties(bosh["properties"]))
    on_workstation = check_properties(cpi_properties(manifest["cloud_provider"]["properties"]))
    hypervisor = extra[0].removesuffix(".yml") if extra and extra[0] in {"kvm.yml", "vmware.yml"} else "xen"
    assert on_director.cloudstack.hypervisor == on_workstation.cloudstack.hypervisor == hypervisor
    assert on_director.cpi.agent.mbus == "nats://10.0.0.6:4222"
    assert on_workstation.cpi.agent.mbus.endswith("@0.0.0.0:6868")
    assert on_workstation.cpi.blobstore.settings()["provider"] == "local"
    assert on_director.cpi.blobstore.settings()["options"]["endpoint"] == "https://10.0.0.6:25250"
    if "legacy-registry.yml" in extra:
        assert on_director.cpi.registry.endpoint == "http://10.0.0.6:25777"
        assert {"name": "registry", "release": "bosh"} in bosh["jobs"]
    else:
        assert on_director.cpi.registry.endpoint is None


def test_vm_and_disk_pools_use_cpi_cloud_properties() -> None:
    manifest = director()
    pool = manifest["resource_pools"][0]
    assert set(pool["cloud_properties"]) <= VM_KEYS
    assert pool["stemcell"]["url"] == "fake-cloudstack_stemcell_url"
    assert set(manifest["disk_pools"][0]["cloud_properties"]) == {"disk_offering"}
    assert set(manifest["networks"][0]["subnets"][0]["cloud_properties"]) == {"name"}


def test_cloud_config_uses_cpi_cloud_properties() -> None:
    cloud = yaml.safe_load((OPS / "cloud-config.yml").read_text())
    az_names = {az["name"] for az in cloud["azs"]}
    assert all(set(az["cloud_properties"]) == {"zone"} for az in cloud["azs"])
    for section in ("vm_types", "vm_extensions"):
        for item in cloud[section]:
            assert set(item["cloud_properties"]) <= VM_KEYS, item["name"]
    assert all(set(d["cloud_properties"]) == {"disk_offering"} for d in cloud["disk_types"])
    for network in cloud["networks"]:
        for subnet in network.get("subnets", []):
            assert set(subnet["cloud_properties"]) == {"name"}
            assert set(subnet["azs"]) <= az_names
    compilation = cloud["compilation"]
    assert compilation["az"] in az_names
    assert compilation["vm_type"] in {vm["name"] for vm in cloud["vm_types"]}
    assert compilation["network"] in {n["name"] for n in cloud["networks"]}


def test_go_patch_subset_errors_on_a_wrong_path() -> None:
    from .harness import PatchError

    with pytest.raises(PatchError):
        apply_ops({"a": {}}, [{"type": "replace", "path": "/a/b/c", "value": 1}])
    assert apply_ops({"a": {}}, [{"type": "replace", "path": "/a/b?/c", "value": 1}]) == {"a": {"b": {"c": 1}}}
    assert apply_ops({"l": [{"name": "x"}]}, [{"type": "replace", "path": "/l/name=x/v?", "value": 2}]) == {
        "l": [{"name": "x", "v": 2}]}
    assert apply_ops({"l": [1]}, [{"type": "replace", "path": "/l/-", "value": 2}]) == {"l": [1, 2]}
    assert apply_ops({"a": {"b": 1}}, [{"type": "remove", "path": "/a/b"}]) == {"a": {}}
