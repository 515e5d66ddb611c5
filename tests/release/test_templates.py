"""cpi.json.erb, cpi.erb and cacert.pem.erb rendered with real ERB (render.rb, bosh-template rules)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from config_equivalence import accepted_by_both

from .harness import RenderError, render

MINIMAL: dict[str, Any] = {
    "cloudstack": {
        "endpoint": "https://cloud.example.com/client/api",
        "api_key": "the-api-key",
        "secret_access_key": "the-secret-key",
        "default_zone": "zone-1",
    }
}

# Every property of the Java CloudStack CPI's release plus its daemon-only keys, as an old manifest sets them.
JAVA_CPI_MANIFEST: dict[str, Any] = {
    "cloudstack": {
        **MINIMAL["cloudstack"],
        "default_key_name": "bosh-key", "private_key": "unused-key", "state_timeout": 900,
        "state_timeout_volume": 600, "stemcell_public_visibility": True, "stemcell_requires_hvm": True,
        "stemcell_os_type": "Other PV (64-bit)", "stemcell_publish_timeout": 5, "proxy_host": "",
        "proxy_port": 8080, "proxy_user": "", "proxy_password": "",
    },
    "cpi": {
        "heap_size": "512M", "host": "127.0.0.1", "port": 8080, "core": {"user": "cpi", "password": "cpi"},
        "webdav_host": "10.0.0.6", "webdav_port": 8080, "webdav_directory": "/var/vcap/store/cloudstack_cpi/webdav",
        "zipkin": {"enabled": False}, "lightstemcell": {"network_name": "net", "instance_type": "small"},
        "default_disk_offering": "DO1 - Small STD", "default_ephemeral_disk_offering": "DO1 - Small STD",
        "vm_create_delay": 10, "vm_expunge_delay": 30, "force_expunge": False,
        "registry": {"endpoint": "http://admin:admin@10.0.0.6:8080", "user": "admin", "password": "admin"},
        "blobstore": {"provider": "local", "path": "/var/vcap/micro_bosh/data/cache", "address": "0.0.0.0",
                      "port": 0, "agent": {"user": "agent", "password": "agent-password"}},
        "ntp": ["0.pool.ntp.org"], "use_dhcp": False,
        "agent": {"mbus": "https://mbus:mbus-password@0.0.0.0:6868"},
    },
}

FULL: dict[str, Any] = {
    "cloudstack": {
        **MINIMAL["cloudstack"],
        "hypervisor": "kvm", "default_key_name": "bosh-key",
        "ca_cert": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        "stemcell_os_type": "Ubuntu 22.04 LTS", "stemcell_requires_hvm": True, "stemcell_public_visibility": True,
        "stemcell_publish_timeout": 45, "stemcell_upload_mode": "url",
        "stemcell_url_base": "http://10.0.0.6:8000/stemcells", "stemcell_zones": ["zone-2"],
        "proxy_host": "proxy.example.com", "proxy_port": 3128, "proxy_user": "p-user", "proxy_password": "p-pass",
        "connect_timeout": 5, "read_timeout": 60, "user_data_max_length": 65536,
        "timeouts": {"default": 900, "create_vm": 1800, "delete_vm": 600, "reboot_vm": 300, "attach_volume": 3600,
                     "detach_volume": 600, "volume": 600, "snapshot": 1200, "template": 3600},
    },
    "cpi": {
        "default_disk_offering": "disk-custom", "default_ephemeral_disk_offering": "disk-custom",
        "vm_expunge_delay": 5, "vm_create_delay": 2, "force_expunge": True, "use_dhcp": True,
        "anti_affinity_per_instance_group": True, "agent": {"mbus": "nats://nats:secret@10.0.0.6:4222"},
        "ntp": ["0.pool.ntp.org", "1.pool.ntp.org"],
        "blobstore": {"provider": "dav", "address": "10.0.0.6", "port": 25250,
                      "agent": {"user": "agent", "password": "agent-pass"},
                      "options": {"endpoint": "https://10.0.0.6:25250", "tls": {"cert": {"ca": "PEM"}}}},
        "registry": {"endpoint": "http://10.0.0.6:25777", "user": "registry", "password": "reg-pass"},
        "debug": True, "stemcell_serve_address": "10.0.0.6:8000",
        "calculate_vm_cloud_properties": {"compute": {"tags": "SSD, fast"}, "disk": {"tags": "SCALEIO"}},
    },
    "env": {"http_proxy": "http://proxy.example.com:3128", "https_proxy": "http://proxy.example.com:3128",
            "no_proxy": "127.0.0.1,localhost,.internal"},
}


def render_config(properties: dict[str, Any]) -> dict[str, Any]:
    return json.loads(render("cpi.json.erb", properties))


def test_minimal_properties_render_a_valid_config_with_schema_defaults() -> None:
    rendered = render_config(MINIMAL)
    assert set(rendered) == {"cloudstack", "cpi"}
    config = accepted_by_both(rendered, "cpi.json")
    assert config.cloudstack.endpoint == "https://cloud.example.com/client/api"
    assert config.cloudstack.hypervisor == "xen"
    assert config.cloudstack.timeouts.default == 1200
    assert "default_key_name" not in rendered["cloudstack"], "unset optional properties are left out"
    assert "registry" not in rendered["cpi"]


def test_full_properties_render_every_value_and_validate() -> None:
    rendered = render_config(FULL)
    config = accepted_by_both(rendered, "cpi.json")
    assert rendered["cloudstack"] == FULL["cloudstack"]
    assert rendered["cpi"] == FULL["cpi"]
    assert config.cloudstack.proxies == {"http": "http://p-user:p-pass@proxy.example.com:3128",
                                         "https": "http://p-user:p-pass@proxy.example.com:3128"}
    assert config.cpi.compute_offering_tags == ("SSD", "fast")
    assert config.cpi.blobstore.settings()["options"]["endpoint"] == "https://10.0.0.6:25250"
    assert "env" not in rendered, "wrapper-only properties never reach cpi.json"


def test_java_cpi_manifest_renders_unchanged_and_drops_daemon_keys() -> None:
    rendered = render_config(JAVA_CPI_MANIFEST)
    config = accepted_by_both(rendered, "cpi.json")
    for key in ("heap_size", "host", "port", "core", "webdav_host", "webdav_port", "webdav_directory", "zipkin",
                "lightstemcell"):
        assert key not in rendered["cpi"]
    assert config.cloudstack.timeouts.default == 900, "state_timeout still sets the default deadline"
    assert config.cloudstack.timeouts.volume == 600
    assert config.cloudstack.proxies is None, "the Java CPI's empty proxy_host means no proxy"
    assert config.cpi.force_expunge is False
    assert config.cpi.blobstore.settings() == {
        "provider": "local",
        "options": {"blobstore_path": "/var/vcap/micro_bosh/data/cache", "endpoint": "http://0.0.0.0:0",
                    "user": "agent", "password": "agent-password"},
    }


@pytest.mark.parametrize("missing", ["endpoint", "api_key", "secret_access_key", "default_zone"])
def test_a_missing_required_property_fails_rendering_like_bosh(missing: str) -> None:
    properties = {"cloudstack": {k: v for k, v in MINIMAL["cloudstack"].items() if k != missing}}
    with pytest.raises(RenderError, match=rf"Can't find property '\[\"cloudstack\.{missing}\"\]'"):
        render("cpi.json.erb", properties)


def test_manifest_null_takes_the_spec_default() -> None:
    properties = {"cloudstack": {**MINIMAL["cloudstack"], "hypervisor": None, "default_key_name": None}}
    rendered = render_config(properties)
    assert rendered["cloudstack"]["hypervisor"] == "xen"
    assert "default_key_name" not in rendered["cloudstack"]


def test_cpi_wrapper_without_proxies(tmp_path) -> None:
    script = render("cpi.erb", MINIMAL)
    assert script.startswith("#!/bin/sh\n")
    assert "_proxy=" not in script.lower()
    assert 'BOSH_PACKAGES_DIR=${BOSH_PACKAGES_DIR:-/var/vcap/packages}' in script
    assert 'BOSH_JOBS_DIR=${BOSH_JOBS_DIR:-/var/vcap/jobs}' in script
    assert '"$BOSH_PACKAGES_DIR/cloudstack_cpi/bin/cloudstack-cpi"' in script
    assert '--config "$BOSH_JOBS_DIR/cloudstack_cpi/config/cpi.json" <&0' in script
    assert "2>" not in script, "stderr must reach the director's task log"
    path = tmp_path / "cpi"
    path.write_text(script)
    assert subprocess.run(["sh", "-n", str(path)], capture_output=True).returncode == 0


def test_cpi_wrapper_exports_quoted_proxy_variables(tmp_path) -> None:
    properties = {**MINIMAL, "env": {"http_proxy": "http://proxy:3128", "no_proxy": "a,b'c $(reboot)"}}
    path = tmp_path / "cpi"
    path.write_text(render("cpi.erb", properties).replace('exec "$BOSH_PACKAGES_DIR', 'env; exit 0; exec "$X'))
    done = subprocess.run(["sh", str(path)], env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                          timeout=30)
    exported = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    assert exported["http_proxy"] == exported["HTTP_PROXY"] == "http://proxy:3128"
    assert exported["no_proxy"] == exported["NO_PROXY"] == "a,b'c $(reboot)"
    assert "https_proxy" not in exported


def test_ca_certificate_template() -> None:
    assert render("cacert.pem.erb", FULL).strip() == FULL["cloudstack"]["ca_cert"].strip()
    assert render("cacert.pem.erb", MINIMAL).strip() == ""
