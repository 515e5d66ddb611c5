"""The job spec and cpi.json.erb are the config schema: same names, defaults and descriptions."""

from __future__ import annotations

import re

import yaml

from cpi_framework.config import property_table

from .conftest import load_script
from .harness import SPEC, TEMPLATES

# Property names of the Java CloudStack CPI's release (bosh-cloudstack-cpi-core) that existing manifests set.
JAVA_CPI_PROPERTIES = [
    "cloudstack.endpoint", "cloudstack.api_key", "cloudstack.secret_access_key", "cloudstack.default_key_name",
    "cloudstack.private_key", "cloudstack.state_timeout", "cloudstack.state_timeout_volume",
    "cloudstack.stemcell_public_visibility", "cloudstack.stemcell_requires_hvm", "cloudstack.stemcell_os_type",
    "cloudstack.stemcell_publish_timeout", "cloudstack.default_zone", "cloudstack.proxy_host",
    "cloudstack.proxy_port", "cloudstack.proxy_user", "cloudstack.proxy_password",
    "cpi.default_disk_offering", "cpi.default_ephemeral_disk_offering", "cpi.vm_create_delay",
    "cpi.vm_expunge_delay", "cpi.force_expunge", "cpi.registry.endpoint", "cpi.registry.user",
    "cpi.registry.password", "cpi.blobstore.provider", "cpi.blobstore.path", "cpi.blobstore.address",
    "cpi.blobstore.port", "cpi.blobstore.agent.user", "cpi.blobstore.agent.password", "cpi.ntp", "cpi.use_dhcp",
    "cpi.agent.mbus",
]
# Keys of the Java CloudStack CPI's WebDAV daemon: deliberately not job properties (the director drops them).
JAVA_DAEMON_PROPERTIES = [
    "cpi.heap_size", "cpi.host", "cpi.port", "cpi.core.user", "cpi.core.password", "cpi.webdav_host",
    "cpi.webdav_port", "cpi.webdav_directory", "cpi.lightstemcell.network_name", "cpi.lightstemcell.instance_type",
    "cpi.zipkin.enabled", "cpi.zipkin.sampler-percentage", "cpi.zipkin.base-url",
]


def spec() -> dict:
    return yaml.safe_load(SPEC.read_text())


def test_committed_files_are_what_the_generator_writes() -> None:
    assert load_script("generate_spec").main(["--check"]) == 0, "run release/scripts/generate_spec.py"


def test_spec_properties_are_the_schema_plus_the_wrapper_ones() -> None:
    wrapper = load_script("generate_spec").WRAPPER_PROPERTIES
    properties = spec()["properties"]
    schema = {p.name: p for p in property_table()}
    assert set(properties) == set(schema) | set(wrapper)
    for name, prop in schema.items():
        assert properties[name]["description"] == prop.description, name
        assert properties[name].get("default") == prop.default, name
    assert all(name.startswith("env.") for name in wrapper)


def test_cpi_json_template_renders_exactly_the_schema_names() -> None:
    text = (TEMPLATES / "cpi.json.erb").read_text()
    lists = dict(re.findall(r"(required|optional) = %w\(\n(.*?)\n\s*\)", text, re.S))
    required = lists["required"].split()
    optional = lists["optional"].split()
    assert required == [p.name for p in property_table() if p.required]
    assert optional == [p.name for p in property_table() if not p.required]
    assert not any(name.startswith("env.") for name in required + optional)


def test_java_cpi_manifest_names_are_job_properties() -> None:
    properties = spec()["properties"]
    missing = [name for name in JAVA_CPI_PROPERTIES if name not in properties]
    assert not missing, f"Java CloudStack CPI property names missing from the job spec: {missing}"


def test_java_daemon_keys_are_not_job_properties() -> None:
    properties = spec()["properties"]
    assert not [name for name in JAVA_DAEMON_PROPERTIES if name in properties]


def test_job_spec_shape() -> None:
    document = spec()
    assert document["name"] == "cloudstack_cpi"
    assert document["templates"] == {"cpi.erb": "bin/cpi", "cpi.json.erb": "config/cpi.json",
                                      "cacert.pem.erb": "config/cacert.pem"}
    assert document["packages"] == ["python3", "cloudstack_cpi"]
