"""Differential tests: the fast config path against marshmallow, the authority.

For every input the fast path must either decline (marshmallow decides) or build exactly the
config marshmallow builds; it must never accept what marshmallow rejects. Inputs: every config
in the repository (examples/, the test kit's configs, the config dicts and ``make_cpi_config``
overrides written in the tests), the reliability tier's malformed configs, and per property of
the generated table (so of the schema) valid and invalid values of every kind, missing required
keys, wrong section types and unknown keys at each level, plus random mixes of them. The
release manifests' rendered configs are checked the same way in tests/release. Counts are in
the module's ``CASES`` (printed with ``-s``).
"""

from __future__ import annotations

import ast
import copy
import functools
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from config_equivalence import accepted_by_both, agree
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpi_framework.config import deep_merge, load_config, validate_config
from cpi_framework.config.table import SECTIONS
from cpi_framework.errors import ConfigError
from cpi_framework.testing import cpi_config_dict

REPO = Path(__file__).resolve().parents[2]

SIMULATOR = type("Sim", (), {"endpoint": "http://127.0.0.1:8080/client/api", "api_key": "sim-api-key",
                             "secret_key": "sim-secret~key/+="})()
VALID = cpi_config_dict(SIMULATOR, "xen")

Leaf = tuple[str, dict[str, Any]]


def leaves(path: str = "", prefix: str = "") -> Iterator[Leaf]:
    for name, spec in SECTIONS[path]["fields"].items():
        if spec["type"] == "section":
            yield from leaves(spec["section"], f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", spec


def sections(path: str = "", prefix: str = "") -> Iterator[tuple[str, str]]:
    """(dotted key, table path) of every section below ``path``."""
    for name, spec in SECTIONS[path]["fields"].items():
        if spec["type"] == "section":
            yield f"{prefix}{name}", spec["section"]
            yield from sections(spec["section"], f"{prefix}{name}.")


LEAVES = list(leaves())
SECTION_KEYS = list(sections())


def with_value(base: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    tree = copy.deepcopy(base)
    node = tree
    *parents, leaf = dotted.split(".")
    for key in parents:
        node = node.setdefault(key, {}) if isinstance(node.get(key, {}), dict) else node
    node[leaf] = value
    return tree


def without(base: dict[str, Any], dotted: str) -> dict[str, Any]:
    tree = copy.deepcopy(base)
    node = tree
    *parents, leaf = dotted.split(".")
    for key in parents:
        node = node[key]
    del node[leaf]
    return tree


# -- values per kind: valid ones, edge cases marshmallow accepts but the fast path leaves to it, invalid ones

ANY_WRONG = [None, [], {}, "text", "", 12345, -1, 1.5, True, False, ["a"], {"a": 1}, float("nan"), float("inf")]
BY_TYPE: dict[str, list[Any]] = {
    "string": ["x", "a b", "zone-1", "ünïcödé", "x" * 5000, "", " ", b"bytes", 0, ["x"]],
    "integer": [0, 1, -1, 2, 80, 8080, 65535, 65536, 2**63, 10**400, 1.0, 8080.0, 8080.5, "8080", "0x10", True, False],
    "float": [0, 1, -1, 0.5, 1.0, 2, 30, 1200, 1e308, 2**63, 10**400, "1.5", "nan", "1e3", float("nan"),
              float("inf"), float("-inf"), True, False, -0.0],
    "boolean": [True, False, 1, 0, 2, "true", "True", "yes", "no", "off", "1", "0", "perhaps", 1.0],
    "list": [[], ["a"], ["a", "b"], ["a", 1], ["a", None], [""], ("a",), "a", {"a": 1}, [["a"]]],
    "dict": [{}, {"k": "v"}, {"k": {"n": [1, None]}}, {1: "int key"}, [], "a=b", [("k", "v")]],
}
URLS = [
    "http://127.0.0.1:8080/client/api", "https://cloud.example.com/client/api", "http://localhost/client/api",
    "http://[::1]:8080/client/api", "https://cs/client/api", "HTTPS://CLOUD.EXAMPLE/client/api",
    "http://host.example.com.:80/client/api?x=1", "http://10.0.0.1", "http://a-b.c-d.e/x", "http://1.2.3.4.5/x",
    "ftp://x/client/api", "http://", "http:///client/api", "http://a b/client/api", "http://x:99999/client/api",
    "http://x:port/client/api", "http://-bad-/client/api", "http://ex_ample.com/client/api", "http://[::1/client/api",
    "http://host/client api", "cloud.example.com/client/api", "http://a..b/x", "http://a./x", "http://./x",
    "http://[1.2.3.4]/x", "http://bücher.example/x", "http://xn--bcher-kva.example/x", "http://" + "a" * 63 + ".b/",
    "http://" + "a" * 64 + ".b/", "http://a.-b/x", "http://a\tb/x", "http://x:0/", "http://x:65535/", "http://u:p@h/x",
    "https://[fe80::1%25eth0]/x", "http://x/\n", "\nhttp://x/",
]
VERSIONS = ["4.11", "4.19.1.0", "4.5.2", "4", "4.11.1.1.1", "v4.11", "4.11\n", "4.11 ", "٤.١١", "4..11", ".4.11", ""]


def values_for(dotted: str, spec: dict[str, Any]) -> list[Any]:
    values = list(BY_TYPE[spec["type"]]) + ANY_WRONG
    for check in spec.get("validate", []):
        if check[0] == "check":
            values += URLS
        elif check[0] == "pattern":
            values += VERSIONS
        elif check[0] == "choices":
            values += list(check[1]) + [c.upper() for c in check[1]] + [f" {c}" for c in check[1]]
        elif check[0] == "range":
            for bound in (b for b in check[1:3] if b is not None):
                values += [bound, bound - 1, bound + 1, bound - 0.5, bound + 0.5, float(bound)]
        elif check[0] == "length":
            values += ["", "a"]
    return values


CASES: dict[str, int] = {}


@pytest.fixture(scope="module", autouse=True)
def _report_counts() -> Iterator[None]:
    yield
    print(f"\nconfig differential cases: {json.dumps(CASES, indent=1)}", file=sys.stderr)


def count(kind: str, outcome: Any) -> None:
    CASES[kind] = CASES.get(kind, 0) + 1
    if outcome.fast:
        CASES[kind + " (fast)"] = CASES.get(kind + " (fast)", 0) + 1


@pytest.mark.parametrize(("dotted", "spec"), LEAVES, ids=[d for d, _ in LEAVES])
def test_every_value_of_every_property(dotted, spec):
    fast_accepted = 0
    for value in values_for(dotted, spec):
        outcome = agree(with_value(VALID, dotted, value))
        count("per-property values", outcome)
        fast_accepted += outcome.fast
    assert fast_accepted, f"the fast path accepted no value of {dotted}: it would never help a config that sets it"


@pytest.mark.parametrize(("dotted", "spec"), [leaf for leaf in LEAVES if leaf[1]["required"]])
def test_a_missing_required_key_is_left_to_marshmallow(dotted, spec):
    outcome = agree(without(VALID, dotted))
    assert outcome.config is None and not outcome.fast and "missing required key" in outcome.message


@pytest.mark.parametrize(("dotted", "path"), [("", ""), *SECTION_KEYS], ids=["top", *[d for d, _ in SECTION_KEYS]])
def test_sections_of_a_wrong_type_and_unknown_keys_at_every_level(dotted, path):
    for value in [None, [], "x", 1, True, [{}], {}]:
        if dotted:
            count("section values", agree(with_value(VALID, dotted, value)))
    for key in ["webdav_port", "Endpoint", 1, "", *[f"{name}s" for name in SECTIONS[path]["fields"]]]:
        extra = with_value(VALID, f"{dotted}.{key}" if dotted else str(key), 8080) if not isinstance(key, int) else \
            _with_int_key(dotted, key)
        outcome = agree(extra)
        count("unknown keys", outcome)
        assert outcome.config is None and not outcome.fast


def _with_int_key(dotted: str, key: int) -> dict[str, Any]:
    tree = copy.deepcopy(VALID)
    node = tree
    for part in filter(None, dotted.split(".")):
        node = node.setdefault(part, {})
    node[key] = "a YAML mapping may have non-string keys"
    return tree


@pytest.mark.parametrize("raw", [None, [], "cloudstack", 1, [VALID], {}, {"cpi": {}}, {"cloudstack": {}}])
def test_top_levels_that_are_not_a_config(raw):
    count("top level", agree(raw))


# -- the reliability tier's malformed configs (tests/reliability/test_config_files.py derives them the same way)

RELIABILITY_WRONG = {"string": [12345, ["a"], {"a": 1}], "float": ["soon", [1], True],
                     "integer": ["eighty", {"n": 1}, [1]], "boolean": ["perhaps", 7, [True]],
                     "list": ["0.pool.ntp.org", {"a": 1}, 5], "dict": ["a=b", [1, 2], 3]}


def test_the_reliability_tiers_malformed_configs():
    for dotted, spec in LEAVES:
        for value in RELIABILITY_WRONG[spec["type"]]:
            outcome = agree(with_value(VALID, dotted, value))
            assert outcome.config is None
            count("reliability tier", outcome)
    mixed = copy.deepcopy(VALID)
    mixed["cloudstack"]["proxy_port"] = "eighty"
    mixed["cpi"]["surprise"] = True
    del mixed["cloudstack"]["default_zone"]
    count("reliability tier", agree(mixed))


# -- configs written in the repository

def _literal_configs() -> Iterator[tuple[str, Any]]:
    """Dict literals with a ``cloudstack``/``cpi`` key, and the test kit's overrides, in the repository's code."""
    roots = [REPO / "tests", REPO / "plugins", REPO / "examples", REPO / "bench", REPO / "cpi_framework" / "testing"]
    for path in sorted(p for root in roots for p in root.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            found = None
            if isinstance(node, ast.Dict) and any(isinstance(k, ast.Constant) and k.value in ("cloudstack", "cpi")
                                                  for k in node.keys):
                found = node
            elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
                    "make_cpi_config", "cpi_config_dict"):
                found = ast.Dict(keys=[ast.Constant(k.arg) for k in node.keywords if k.arg in ("cloudstack", "cpi")],
                                 values=[k.value for k in node.keywords if k.arg in ("cloudstack", "cpi")])
            if found is None:
                continue
            try:
                value = ast.literal_eval(found)
            except (ValueError, SyntaxError, TypeError):
                continue
            yield f"{path.relative_to(REPO)}:{node.lineno}", value


LITERALS = list(_literal_configs())


def test_the_repositorys_config_literals_alone_and_over_a_valid_config():
    assert len(LITERALS) > 40, "the scan found too few configs: is it still looking in the right places?"
    for where, raw in LITERALS:
        count("repository literals", agree(raw, where))
        if isinstance(raw, dict) and all(isinstance(raw.get(k, {}), dict) for k in ("cloudstack", "cpi")):
            count("repository literals over a valid config", agree(deep_merge(VALID, raw), where))


@pytest.mark.parametrize("hypervisor", ["xen", "kvm", "vmware", "ikoula"])
def test_the_test_kits_configs(hypervisor):
    accepted_by_both(cpi_config_dict(SIMULATOR, hypervisor))
    accepted_by_both(json.loads(json.dumps(cpi_config_dict(SIMULATOR, hypervisor))))


def test_the_example_config():
    accepted_by_both(json.loads((REPO / "examples" / "cpi.json").read_text()), "examples/cpi.json")


def test_a_config_setting_every_property_is_taken_by_the_fast_path():
    full = copy.deepcopy(VALID)
    for dotted, spec in LEAVES:
        value = {"string": "value", "integer": 4242, "float": 12.5, "boolean": True, "list": ["a", "b"],
                 "dict": {"k": "v"}}[spec["type"]]
        if spec["type"] == "string" and spec.get("validate"):
            value = {"check": "http://127.0.0.1:8080/client/api", "pattern": "4.19.1.0",
                     "choices": "url", "length": "value"}[spec["validate"][0][0]]
        full = with_value(full, dotted, value)
    full["cloudstack"]["proxy_host"] = ""
    config = accepted_by_both(full)
    assert config.cloudstack.proxy_host is None and config.cloudstack.timeouts.default == 12.5


# -- through the loader: a file's result or message is the same whichever path decided

@pytest.mark.parametrize(("raw", "overrides"), [
    (VALID, None),
    (VALID, {"cloudstack": {"read_timeout": 5}}),
    (VALID, {"cloudstack": {"read_timeout": "later"}}),
    (deep_merge(VALID, {"cloudstack": {"proxy_port": "8080"}}), None),
    (deep_merge(VALID, {"cpi": {"agent": {"mbuss": "nats://x"}}}), None),
    (deep_merge(VALID, {"cloudstack": {"endpoint": "ftp://x"}, "cpi": {"ntp": "pool"}}), None),
])
def test_load_config_gives_the_schemas_result_or_message(tmp_path, raw, overrides):
    path = tmp_path / "cpi.json"
    path.write_text(json.dumps(raw))
    where = f"{path} (with the director context's overrides)" if overrides else str(path)
    merged = deep_merge(raw, overrides) if overrides else raw
    try:
        expected = validate_config(merged, where)
    except ConfigError as exc:
        with pytest.raises(ConfigError) as got:
            load_config(path, overrides)
        assert str(got.value) == str(exc) and got.value.messages == exc.messages
    else:
        assert load_config(path, overrides) == expected


# -- random mixes of valid and invalid values

def _property_values(spec: dict[str, Any]) -> st.SearchStrategy[Any]:
    return st.sampled_from(values_for("", spec))


@functools.cache
def _fast_values(dotted: str) -> list[Any]:
    """The values of ``dotted`` the fast path takes in an otherwise valid config (the schema agreeing)."""
    spec = dict(LEAVES)[dotted]
    return [v for v in values_for(dotted, spec) if agree(with_value(VALID, dotted, v)).fast]


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


@st.composite
def _configs(draw: Any) -> dict[str, Any]:
    only_valid = draw(st.booleans())  # half the configs valid value by value: they test how values combine
    tree = copy.deepcopy(VALID) if only_valid or draw(st.booleans()) else {}
    for dotted, spec in LEAVES:
        choice = draw(st.integers(0, 9))
        if choice < 6:
            continue
        if only_valid:
            value = draw(st.sampled_from(_fast_values(dotted)))
        else:
            value = draw(_property_values(spec)) if choice < 9 else draw(_json)
        tree = with_value(tree, dotted, value)
    if draw(st.integers(0, 9)) == 0:
        dotted, _ = draw(st.sampled_from(SECTION_KEYS))
        tree = with_value(tree, dotted, draw(_json))
    return tree


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=_configs())
def test_random_configs(raw):
    count("random configs", agree(raw))
