"""Malformed config files: every problem is one typed error response naming the key and the file.

The property list comes from the config schema itself (every leaf field gets a value of a
wrong type; every required key is removed; an unknown key is added in every section), so a
property added later is covered without touching this file. Config problems are the
operator's to fix: the answer must not invite a retry, must not touch the cloud, and must not
quote a secret.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import fields
from reliability_support import FIGURES, PROFILE, SecretScanner, diff, fingerprint, no_leak_check, run_raw
from test_bad_input import JSON, envelope, in_process

from cpi_framework.config import ConfigSchema
from cpi_framework.testing import cpi_config_dict

WRONG = {
    fields.Url: ["not a url", 42],
    fields.String: [12345, ["a"], {"a": 1}],
    fields.Float: ["soon", [1], True],
    fields.Integer: ["eighty", {"n": 1}, [1]],
    fields.Boolean: ["perhaps", 7, [True]],
    fields.List: ["0.pool.ntp.org", {"a": 1}, 5],
    fields.Dict: ["a=b", [1, 2], 3],
}


def _leaves(schema: Any, prefix: str = "") -> list[tuple[str, fields.Field]]:
    out = []
    for name, field in schema.fields.items():
        if isinstance(field, fields.Nested):
            out += _leaves(field.schema, f"{prefix}{name}.")
        else:
            out.append((f"{prefix}{name}", field))
    return out


def _sections(schema: Any, prefix: str = "") -> list[str]:
    out = [prefix.rstrip(".")] if prefix else [""]
    for name, field in schema.fields.items():
        if isinstance(field, fields.Nested):
            out += _sections(field.schema, f"{prefix}{name}.")
    return out


LEAVES = _leaves(ConfigSchema())
REQUIRED = [name for name, field in LEAVES if field.required]
WRONG_CASES = [(name, value) for name, field in LEAVES for value in WRONG[type(field)][:2]]


def _set(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for key in parents:
        tree = tree.setdefault(key, {})
    tree[leaf] = value


def _delete(tree: dict[str, Any], dotted: str) -> None:
    *parents, leaf = dotted.split(".")
    for key in parents:
        tree = tree[key]
    del tree[leaf]


@pytest.fixture
def good_config(sim: Any) -> dict[str, Any]:
    return cpi_config_dict(sim, "xen")


def _expect_config_error(simulator: Any, path: Path, *names: str, method: str = "has_vm") -> dict[str, Any]:
    before = fingerprint(simulator.inventory())
    document, stderr = in_process(path, envelope(method, ["vm-1"]))
    no_leak_check(f"config {path.name}", diff(before, fingerprint(simulator.inventory())))
    error = document["error"]
    assert error is not None, f"config accepted: {path.read_text()[:300]}"
    assert error["type"] == "Bosh::Clouds::CloudError"
    assert error["ok_to_retry"] is False
    assert str(path) in error["message"], error["message"]
    for name in names:
        assert name in error["message"], f"{name!r} not named in {error['message']!r}"
    assert not [e for e in simulator.request_log() if e["command"]], "a broken config reached the cloud"
    FIGURES.add("malformed configs")
    return error


@pytest.mark.parametrize(("key", "value"), WRONG_CASES, ids=[f"{k}={json.dumps(v)}" for k, v in WRONG_CASES])
def test_wrong_type_names_key_and_file(sim, good_config, tmp_path, key, value):
    _set(good_config, key, value)
    path = tmp_path / "cpi.json"
    path.write_text(json.dumps(good_config))
    _expect_config_error(sim, path, key)


@pytest.mark.parametrize("key", REQUIRED)
def test_missing_required_key_names_key_and_file(sim, good_config, tmp_path, key):
    _delete(good_config, key)
    path = tmp_path / "cpi.json"
    path.write_text(json.dumps(good_config))
    error = _expect_config_error(sim, path, key)
    assert "missing" in error["message"].lower()


@pytest.mark.parametrize("section", _sections(ConfigSchema()))
def test_unknown_key_in_every_section_names_key_and_file(sim, good_config, tmp_path, section):
    key = f"{section}.webdav_port" if section else "webdav_port"
    _set(good_config, key, 8080)
    path = tmp_path / "cpi.json"
    path.write_text(json.dumps(good_config))
    error = _expect_config_error(sim, path, key)
    assert "unknown" in error["message"].lower()


@pytest.mark.parametrize(("name", "content"), [
    ("empty.json", b""),
    ("garbage.json", b"\x00\xff\xfe garbage"),
    ("list.json", b"[1, 2, 3]"),
    ("scalar.yml", b"just a string"),
    ("broken.yml", b"cloudstack: [unclosed\n"),
    ("null.json", b"null"),
    ("deep.json", b"[" * 100 + b"]" * 100),
])
def test_unparsable_files_name_the_file(sim, tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    _expect_config_error(sim, path)


def test_missing_and_unreadable_files_name_the_file(sim, tmp_path):
    _expect_config_error(sim, tmp_path / "does-not-exist.json")
    directory = tmp_path / "a-directory.json"
    directory.mkdir()
    _expect_config_error(sim, directory)


def test_context_override_with_wrong_type_names_key_and_source(sim, good_config, tmp_path):
    path = tmp_path / "cpi.json"
    path.write_text(json.dumps(good_config))
    raw = envelope("has_vm", ["vm-1"], 2, {"director_uuid": "d", "cloudstack": {"read_timeout": "later"}})
    document, _ = in_process(path, raw)
    message = document["error"]["message"]
    assert "cloudstack.read_timeout" in message and str(path) in message and "context" in message


def test_config_errors_through_the_real_process(sim, good_config, tmp_path):
    good_config["cloudstack"]["proxy_port"] = "eighty"
    good_config["cpi"]["surprise"] = True
    del good_config["cloudstack"]["default_zone"]
    path = tmp_path / "cpi.json"
    path.write_text(json.dumps(good_config))
    result = run_raw(path, envelope("create_disk", [1024, {}, None]))
    message = result.error["message"]
    for key in ("cloudstack.proxy_port", "cpi.surprise", "cloudstack.default_zone", str(path)):
        assert key in message
    FIGURES.add("malformed configs")


@settings(PROFILE, max_examples=max(10, PROFILE.max_examples // 3))
@given(tree=st.dictionaries(st.sampled_from(["cloudstack", "cpi", "x"]), JSON, max_size=3))
def test_random_config_trees_give_one_valid_answer(sim, tmp_path, tree):
    path = tmp_path / "random.json"
    path.write_text(json.dumps(tree))
    before = fingerprint(sim.inventory())
    document, _ = in_process(path, envelope("has_disk", ["disk-1"]))
    no_leak_check("random config", diff(before, fingerprint(sim.inventory())))
    assert document["error"] is not None and str(path) in document["error"]["message"]
    FIGURES.add("malformed configs")


@pytest.mark.parametrize("secret_field", ["api_key", "secret_access_key"])
def test_config_errors_do_not_quote_secrets(sim, good_config, tmp_path, secret_field):
    secret = "Sup3r-Secret-Value-0042"
    good_config["cloudstack"][secret_field] = secret
    good_config["cloudstack"]["read_timeout"] = "later"
    path = tmp_path / "cpi.json"
    path.write_text(json.dumps(good_config))
    document, stderr = in_process(path, envelope("has_vm", ["vm-1"]))
    scanner = SecretScanner()
    scanner.add(secret_field, secret)
    assert not scanner.scan(json.dumps(document) + stderr, "response+stderr")


def test_yaml_syntax_errors_do_not_quote_secrets(sim, tmp_path):
    secret = "Sup3r: Secret-Value-0042"  # an unquoted ': ' makes the secret's own line the syntax error
    path = tmp_path / "cpi.yml"
    path.write_text("cloudstack:\n  endpoint: http://127.0.0.1:9/client/api\n  api_key: key-1\n"
                    f"  secret_access_key: {secret}\n  default_zone: zone-xen\n")
    document, stderr = in_process(path, envelope("has_vm", ["vm-1"]))
    assert str(path) in document["error"]["message"]
    scanner = SecretScanner()
    scanner.add("secret_access_key", secret)
    assert not scanner.scan(json.dumps(document) + stderr, "response+stderr")


def test_figures_go_to_this_runs_own_directory(tmp_path_factory, monkeypatch):
    """issue 19 item 13: concurrent runs shared one $TMPDIR/cpi-reliability.json."""
    from reliability_support import figures_path

    monkeypatch.delenv("CPI_RELIABILITY_FIGURES", raising=False)
    assert figures_path().parent == tmp_path_factory.getbasetemp()
    monkeypatch.setenv("CPI_RELIABILITY_FIGURES", str(tmp_path_factory.getbasetemp() / "chosen.json"))
    assert figures_path().name == "chosen.json"
