"""Config schema: required and unknown keys named with the file, defaults, YAML, overrides, secrets."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cpi_framework.config import Config, deep_merge, load_config, property_table, validate_config
from cpi_framework.config.light import read_hypervisor_name
from cpi_framework.errors import ConfigError

BASE = {
    "cloudstack": {
        "endpoint": "https://cloud.example.com/client/api",
        "api_key": "the-api-key",
        "secret_access_key": "the-secret-key",
        "default_zone": "zone-1",
    }
}


def write(tmp_path, data, name="cpi.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_minimal_config_gets_documented_defaults(tmp_path):
    config = load_config(write(tmp_path, BASE))
    assert config.cloudstack.hypervisor == "xen"
    assert config.cloudstack.timeouts.for_op("create_vm") == 1200
    assert config.cloudstack.stemcell_upload_mode == "auto"
    assert config.cpi.force_expunge is True
    assert config.cpi.blobstore.settings() is None
    assert config.path == str(tmp_path / "cpi.json")


def test_yaml_is_accepted(tmp_path):
    text = "cloudstack:\n  endpoint: http://10.0.0.1:8080/client/api\n  api_key: k1\n  secret_access_key: s1\n" \
           "  default_zone: z\n  timeouts: {default: 60, create_vm: 900}\n"
    config = load_config(write(tmp_path, text, "cpi.yml"))
    assert config.cloudstack.timeouts.for_op("create_vm") == 900
    assert config.cloudstack.timeouts.for_op("delete_vm") == 60


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"cloudstack": {"endpont": "x"}}, "cloudstack.endpont: unknown key"),
        ({"cpi": {"webdav_host": "1.2.3.4"}}, "cpi.webdav_host: unknown key"),
        ({"cloudstack": {"endpoint": "ftp://x"}}, "cloudstack.endpoint: Not a valid URL."),
        ({"cloudstack": {"proxy_port": "eighty"}}, "cloudstack.proxy_port: Not a valid integer."),
        ({"cloudstack": {"stemcell_upload_mode": "webdav"}}, "cloudstack.stemcell_upload_mode: Must be one of"),
        ({"cpi": {"ntp": "pool.ntp.org"}}, "cpi.ntp: Not a valid list."),
        ({"extra": 1}, "extra: unknown key"),
    ],
)
def test_errors_name_key_and_file(tmp_path, change, expected):
    path = write(tmp_path, deep_merge(BASE, change))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)


def test_missing_required_keys_are_all_named(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, {"cloudstack": {}}))
    for key in ("endpoint", "api_key", "secret_access_key", "default_zone"):
        assert f"cloudstack.{key}: missing required key" in str(info.value)


def test_errors_never_echo_secret_values(tmp_path):
    bad = deep_merge(BASE, {"cloudstack": {"api_key": 12345678}})
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, bad))
    assert "12345678" not in str(info.value)
    assert "the-secret-key" not in str(info.value)


def test_top_level_must_be_a_mapping(tmp_path):
    with pytest.raises(ConfigError, match="mapping at the top level"):
        load_config(write(tmp_path, "[1, 2]"))


def test_java_cpi_property_names_keep_working(tmp_path):
    legacy = deep_merge(BASE, {
        "cloudstack": {"state_timeout": 600, "state_timeout_volume": 300, "private_key": "unused",
                       "stemcell_publish_timeout": 5, "proxy_host": "", "proxy_port": 8080,
                       "proxy_user": "", "proxy_password": ""},
        "cpi": {"default_disk_offering": "d", "default_ephemeral_disk_offering": "e", "vm_expunge_delay": 30,
                "force_expunge": False, "use_dhcp": True, "vm_create_delay": 10, "ntp": ["0.pool.ntp.org"],
                "agent": {"mbus": "https://mbus:mbus-pass@0.0.0.0:6868"},
                "registry": {"endpoint": "http://admin:reg-pass@10.0.0.5:25777", "user": "admin",
                             "password": "reg-pass"},
                "blobstore": {"provider": "local", "path": "/var/vcap/micro_bosh/data/cache", "address": "0.0.0.0",
                              "port": 0, "agent": {"user": "agent", "password": "agent-pass"}}},
    })
    config = load_config(write(tmp_path, legacy))
    assert config.cloudstack.timeouts.default == 600
    assert config.cloudstack.timeouts.for_op("volume") == 300
    assert config.cloudstack.proxies is None
    assert config.cpi.blobstore.settings() == {
        "provider": "local",
        "options": {"blobstore_path": "/var/vcap/micro_bosh/data/cache", "endpoint": "http://0.0.0.0:0",
                    "user": "agent", "password": "agent-pass"},
    }
    secrets = config.secrets()
    for value in ("the-api-key", "the-secret-key", "mbus-pass", "reg-pass", "agent-pass"):
        assert value in secrets


def test_context_overrides_merge_and_are_validated(tmp_path):
    path = write(tmp_path, BASE)
    config = load_config(path, {"cloudstack": {"default_zone": "zone-2"}})
    assert config.cloudstack.default_zone == "zone-2"
    with pytest.raises(ConfigError, match="director context"):
        load_config(path, {"cloudstack": {"bogus": 1}})


def test_plugin_defaults_fill_only_unset_properties(tmp_path):
    config = load_config(write(tmp_path, deep_merge(BASE, {"cloudstack": {"stemcell_requires_hvm": True}})))
    merged = config.with_plugin_defaults(
        {"cloudstack.stemcell_os_type": "Other PV (64-bit)", "cloudstack.stemcell_requires_hvm": False}
    )
    assert merged.cloudstack.stemcell_os_type == "Other PV (64-bit)"
    assert merged.cloudstack.stemcell_requires_hvm is True
    with pytest.raises(ConfigError, match="unknown property"):
        config.with_plugin_defaults({"cloudstack.nope": 1})


def test_proxy_settings_embed_credentials(tmp_path):
    config = load_config(write(tmp_path, deep_merge(BASE, {"cloudstack": {
        "proxy_host": "proxy.local", "proxy_port": 3128, "proxy_user": "u", "proxy_password": "p@ss"}})))
    assert config.cloudstack.proxies == {"http": "http://u:p%40ss@proxy.local:3128",
                                         "https": "http://u:p%40ss@proxy.local:3128"}
    assert "p@ss" in config.secrets()


def test_property_table_is_complete_and_marks_secrets():
    table = {p.name: p for p in property_table()}
    assert table["cloudstack.endpoint"].required
    assert table["cloudstack.secret_access_key"].secret
    assert table["cpi.blobstore.agent.password"].secret
    assert table["cloudstack.timeouts.default"].default == 1200
    assert all(p.description for p in table.values())
    # every leaf of a fully loaded config is reachable from the table
    assert "cpi.calculate_vm_cloud_properties.compute.tags" in table


def test_config_is_frozen():
    config = validate_config(BASE, "inline")
    assert isinstance(config, Config)
    with pytest.raises(AttributeError):
        config.cloudstack.api_key = "x"  # type: ignore[misc]


def test_light_read_of_hypervisor(tmp_path):
    assert read_hypervisor_name(write(tmp_path, BASE)) == "xen"
    assert read_hypervisor_name(write(tmp_path, "cloudstack:\n  hypervisor: kvm\n", "c.yml")) == "kvm"
    with pytest.raises(ConfigError, match="cloudstack.hypervisor"):
        read_hypervisor_name(write(tmp_path, {"cloudstack": {"hypervisor": 3}}))
    with pytest.raises(ConfigError, match="cloudstack: missing required key"):
        read_hypervisor_name(write(tmp_path, {"cpi": {}}))


@pytest.mark.parametrize("endpoint", [
    "http://127.0.0.1:8080/client/api", "https://cloud.example.com/client/api", "http://localhost/client/api",
    "http://[::1]:8080/client/api", "https://cs/client/api", "HTTPS://CLOUD.EXAMPLE/client/api",
    "http://host.example.com.:80/client/api?x=1",
])
def test_endpoint_urls_that_are_accepted(tmp_path, endpoint):
    assert load_config(write(tmp_path, deep_merge(BASE, {"cloudstack": {"endpoint": endpoint}}))).cloudstack.endpoint \
        == endpoint


@pytest.mark.parametrize("endpoint", [
    "ftp://x/client/api", "http://", "http:///client/api", "http://a b/client/api", "http://x:99999/client/api",
    "http://x:port/client/api", "http://-bad-/client/api", "http://ex_ample.com/client/api", "http://[::1/client/api",
    "http://host/client api", "cloud.example.com/client/api",
])
def test_endpoint_urls_that_are_refused(tmp_path, endpoint):
    with pytest.raises(ConfigError, match=r"cloudstack\.endpoint: Not a valid URL\."):
        load_config(write(tmp_path, deep_merge(BASE, {"cloudstack": {"endpoint": endpoint}})))


def test_records_are_immutable_keyword_built_and_compared_by_value():
    from cpi_framework.config import AgentConfig, CloudStackConfig, Timeouts

    assert Timeouts(default=5) == Timeouts(default=5.0, create_vm=None) != Timeouts(default=6)
    assert Timeouts() != (1200, None, None, None, None, None, None, None, None)  # not a tuple
    assert hash(Timeouts(default=5)) == hash(Timeouts(default=5))
    assert repr(AgentConfig(mbus="nats://x")) == "AgentConfig(mbus='nats://x')"
    with pytest.raises(TypeError, match="mbuss"):
        AgentConfig(mbuss="nats://x")
    with pytest.raises(TypeError, match="endpoint"):
        CloudStackConfig(api_key="k", secret_access_key="s", default_zone="z")
    timeouts = Timeouts(default=5)
    changed = timeouts._replace(volume=9)
    assert (changed.default, changed.volume, timeouts.volume) == (5, 9, None)
    with pytest.raises(TypeError):
        timeouts._replace(volumes=9)
    with pytest.raises(AttributeError):
        del timeouts.default
    assert timeouts.for_op("volume") == 5 and changed.for_op("volume") == 9 and timeouts.for_op("count") == 5


@given(st.text(alphabet="a./ ~é", max_size=12))
def test_config_path_text_is_what_pathlib_prints(text):
    from pathlib import Path, PurePath

    from cpi_framework.config.loader import config_path_text

    assert config_path_text(text) == str(Path(text)) == config_path_text(PurePath(text))
