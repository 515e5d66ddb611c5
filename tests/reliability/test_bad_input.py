"""Bad input: whatever arrives on stdin, the CPI answers exactly one valid response and changes nothing.

Hypothesis throws garbage bytes, malformed envelopes, wrong types in every argument position
of every method in ``METHODS``, huge and unicode strings, nested nulls, unknown methods and
unknown ``api_version``s. The bulk runs in-process through ``cli.run_rpc`` (the exact code the
process runs, ~1 ms a call); a smaller sample runs the real ``cloudstack-cpi`` process with the
director's environment. Invariants for every example:

* exactly one response of the director's schema (known error type, string ``log``), nothing
  else on stdout, exit 0 (process);
* an error response leaves the simulator's cloud state unchanged (request log aside);
* a request that is wrong by type is a ``CpiError`` naming the argument.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reliability_support import FIGURES, HEAVY, PROFILE, check_response, diff, fingerprint, no_leak_check, run_raw

from cpi_framework import cli, rpc
from cpi_framework.methods import METHODS
from cpi_framework.testing import DIRECTOR_UUID, make_cpi_config

PROCESS_EXAMPLES = 40 if HEAVY else 12

# -- strategies ------------------------------------------------------------------------------

HUGE = st.sampled_from(["x" * 70_000, "é" * 20_000, "\U0001f4a9" * 10_000, "a\u0000b" * 5_000])
NASTY_TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(blacklist_categories=()), max_size=30),  # incl. lone surrogates
    st.sampled_from(["", " ", "\u0000", "null", "../../etc/passwd", "' OR 1=1 --", "%00", "&command=listZones",
                     "cpivm-1", "cpi-disk-1", "cpitemplate-1 light", "00000000-0000-0000-0000-000000000000",
                     "\u202e\u0644\u0644", "\ufeff", "a" * 4097]),
    HUGE,
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=False, allow_infinity=False), NASTY_TEXT)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(NASTY_TEXT, inner, max_size=4)),
    max_leaves=12,
)
NESTED_NULLS = st.recursive(st.none(), lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                               st.dictionaries(st.text(max_size=5), inner,
                                                                               max_size=3)), max_leaves=8)
ARG = st.one_of(JSON, NESTED_NULLS)

_KIND_VALUES = {
    str: st.one_of(st.integers(), st.booleans(), st.lists(JSON, max_size=2), st.dictionaries(NASTY_TEXT, JSON,
                                                                                             max_size=2)),
    int: st.one_of(NASTY_TEXT, st.booleans(), st.floats(allow_nan=False, allow_infinity=False).filter(
        lambda f: not f.is_integer()), st.lists(JSON, max_size=2), st.dictionaries(NASTY_TEXT, JSON, max_size=2)),
    dict: st.one_of(NASTY_TEXT, st.integers(), st.booleans(), st.lists(JSON, max_size=2)),
    list: st.one_of(NASTY_TEXT, st.integers(), st.booleans(), st.dictionaries(NASTY_TEXT, JSON, max_size=2)),
}
_VALID = {str: "cid-does-not-exist", int: 1024, dict: {}, list: [], type(None): None}


def _signature(method: str) -> list[tuple[str, tuple[type, ...] | None]]:
    """(parameter, allowed JSON kinds or None for Any) after ctx, from the function the table names."""
    entry = METHODS[method]
    module_name, _, function_name = entry.target.partition(":")
    module = __import__(f"cpi_framework.methods.{module_name}", fromlist=[function_name])
    function = getattr(module, function_name)
    hints = rpc._annotations(function)
    params = list(inspect.signature(function).parameters.values())[1:]
    return [(p.name, rpc._allowed(hints.get(p.name, Any))) for p in params]


def _typed_positions() -> list[tuple[str, int]]:
    return [(method, index) for method in METHODS for index, (_, kinds) in enumerate(_signature(method))
            if kinds is not None]


def _wrong_value(kinds: tuple[type, ...]) -> st.SearchStrategy[Any]:
    options = [strategy for kind, strategy in _KIND_VALUES.items() if kind not in kinds]
    if type(None) not in kinds:
        options.append(st.none())
    return st.one_of(options).filter(lambda v: not any(rpc._is(v, k) for k in kinds))


def envelope(method: Any, arguments: Any, api_version: Any = 2, context: Any = None) -> bytes:
    body = {"method": method, "arguments": arguments,
            "context": context if context is not None else {"director_uuid": DIRECTOR_UUID, "request_id": "cpi-1"}}
    if api_version is not None:
        body["api_version"] = api_version
    return json.dumps(body).encode()


# -- the harness -----------------------------------------------------------------------------------


def in_process(config: Path, raw: bytes) -> tuple[dict[str, Any], str]:
    """``cli.run_rpc`` as ``main`` calls it; stdout must stay empty; the reply must serialise."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        reply = cli.run_rpc(raw, str(config))
    assert out.getvalue() == "", f"something wrote to stdout: {out.getvalue()[:300]!r}"
    wire = json.dumps(reply, default=str)  # what main() writes
    FIGURES.add("bad-input requests (in-process)")
    return check_response(json.loads(wire)), err.getvalue()


class Cloud:
    """The simulator's state before a request, and the check after it."""

    def __init__(self, simulator: Any) -> None:
        self.simulator = simulator
        self.before = fingerprint(simulator.inventory())

    def check(self, document: dict[str, Any], label: str) -> None:
        changes = diff(self.before, fingerprint(self.simulator.inventory()))
        if document["error"] is not None:
            no_leak_check(f"{label} -> {document['error']['type']}", changes)
        elif changes:  # a request that happened to be valid did real work: undo it for the next example
            FIGURES.add("bad-input requests that were valid and changed the cloud")
            self.simulator.reset(log=False, faults=True, state=True)


@pytest.fixture
def xen_config(sim: Any, tmp_path: Path) -> Path:
    return make_cpi_config(sim, "xen", tmp_path, cloudstack={"timeouts": {"default": 5}, "read_timeout": 5})


# -- in-process properties ----------------------------------------------------------------------------


@settings(PROFILE)
@given(raw=st.one_of(st.binary(max_size=512), st.sampled_from([b"\x00" * 70_000, bytes(range(256)) * 300]),
                     st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_garbage_bytes(sim, xen_config, raw):
    cloud = Cloud(sim)
    document, _ = in_process(xen_config, raw)
    cloud.check(document, "garbage bytes")
    try:
        parsed = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        assert document["error"]["type"] == "Bosh::Clouds::CpiError"
        assert document["error"]["message"].startswith("Must provide valid JSON payload")
    else:
        if not isinstance(parsed, dict):
            assert document["error"]["type"] == "Bosh::Clouds::CpiError"


@settings(PROFILE)
@given(method=st.one_of(st.sampled_from(sorted(METHODS)), JSON), arguments=ARG, api_version=ARG,
       context=st.one_of(st.none(), JSON))
def test_malformed_envelopes(sim, xen_config, method, arguments, api_version, context):
    cloud = Cloud(sim)
    document, _ = in_process(xen_config, envelope(method, arguments, api_version, context))
    cloud.check(document, "envelope")
    if not isinstance(method, str) or not isinstance(arguments, list):
        assert document["error"]["type"] == "Bosh::Clouds::CpiError"
    elif isinstance(api_version, int) and not isinstance(api_version, bool) and api_version > rpc.MAX_API_VERSION:
        assert document["error"]["type"] == "Bosh::Clouds::NotImplemented"


@pytest.mark.parametrize(("method", "position"), _typed_positions(), ids=lambda v: str(v))
def test_wrong_type_in_every_argument_position(sim, xen_config, method, position):
    signature = _signature(method)
    name, kinds = signature[position]
    valid = [_VALID[next(iter(k))] if k else None for _, k in signature]

    @settings(PROFILE, max_examples=max(6, PROFILE.max_examples // 10))
    @given(value=_wrong_value(kinds))
    def check(value: Any) -> None:
        cloud = Cloud(sim)
        arguments = list(valid)
        arguments[position] = value
        document, _ = in_process(xen_config, envelope(method, arguments))
        cloud.check(document, f"{method} arg {position}")
        assert document["error"] is not None, f"{method} accepted {name}={value!r}"
        assert document["error"]["type"] == "Bosh::Clouds::CpiError", document["error"]
        assert f"'{name}'" in document["error"]["message"]

    check()


@pytest.mark.parametrize("method", sorted(METHODS))
def test_random_arguments_for_every_method(sim, xen_config, method):
    """Plausible-to-absurd argument lists: any outcome is fine except a bad response or a changed cloud."""

    @settings(PROFILE, max_examples=max(8, PROFILE.max_examples // 8))
    @given(arguments=st.lists(ARG, max_size=7), api_version=st.sampled_from([None, 1, 2, 3]))
    def check(arguments: list[Any], api_version: int | None) -> None:
        cloud = Cloud(sim)
        document, _ = in_process(xen_config, envelope(method, arguments, api_version))
        cloud.check(document, method)

    check()


@settings(PROFILE)
@given(method=st.text(max_size=60).filter(lambda m: m not in METHODS), api_version=st.sampled_from([None, 1, 2]))
def test_unknown_methods_are_not_implemented(sim, xen_config, method, api_version):
    cloud = Cloud(sim)
    document, _ = in_process(xen_config, envelope(method, [], api_version))
    cloud.check(document, "unknown method")
    assert document["error"]["type"] == "Bosh::Clouds::NotImplemented"
    assert document["error"]["message"].startswith("Must call implemented method: Unknown method")


@settings(PROFILE)
@given(method=st.sampled_from(sorted(METHODS)), api_version=st.integers(min_value=rpc.MAX_API_VERSION + 1))
def test_unknown_api_versions_are_refused_before_any_work(sim, xen_config, method, api_version):
    cloud = Cloud(sim)
    document, _ = in_process(xen_config, envelope(method, ["x", {}, {}, {}], api_version))
    cloud.check(document, "api_version")
    assert sim.request_log() == [] or all(e["command"] != "deployVirtualMachine"
                                                for e in sim.request_log())
    assert document["error"]["type"] == "Bosh::Clouds::NotImplemented"
    assert f"'{api_version}'" in document["error"]["message"]


# -- the real process ----------------------------------------------------------------------------------

PROCESS_INPUTS = st.one_of(
    st.binary(max_size=300),
    st.builds(envelope, st.one_of(st.sampled_from(sorted(METHODS)), NASTY_TEXT), st.lists(ARG, max_size=6),
              st.one_of(st.none(), st.integers(min_value=-3, max_value=10**6)), st.one_of(st.none(), JSON)),
)


@settings(PROFILE, max_examples=PROCESS_EXAMPLES)
@given(raw=PROCESS_INPUTS)
def test_real_process_sample(sim, xen_config, tmp_path, raw):
    cloud = Cloud(sim)
    result = run_raw(xen_config, raw)  # exit 0, one JSON object, nothing else on stdout
    FIGURES.add("bad-input requests (real process)")
    cloud.check(result.document, "process")


@pytest.mark.parametrize("raw", [
    b"", b"\n", b"null", b"[]", b"\xff\xfe\xfd", b'{"method":"info"}', b'{"method":"info","arguments":[]}' * 2,
    json.dumps({"method": "has_vm", "arguments": ["\udc80" * 3]}).encode(),
    json.dumps({"method": "create_disk", "arguments": [10**30, {}, None], "api_version": 2}).encode(),
    json.dumps({"method": "create_vm", "arguments": ["a", "b", {"cpu": [None]}, {"n": None}, [None], {"x": None}],
                "api_version": 2}).encode(),
    json.dumps({"method": "attach_disk", "arguments": ["x" * 200_000, "y"], "api_version": 2}).encode(),
    json.dumps({"method": "info", "arguments": [], "api_version": 2**64}).encode(),
    b'{"method":"info","arguments":[],"api_version":1e400}',
    b'{"method":"has_vm","arguments":[NaN]}',
    b'[' * 100_000,
    b'{"method":"info","arguments":' + b'[' * 50_000,
], ids=lambda raw: raw[:24].decode("utf-8", "replace").replace("\n", "\\n"))
def test_real_process_known_nasties(sim, xen_config, raw):
    cloud = Cloud(sim)
    result = run_raw(xen_config, raw)
    FIGURES.add("bad-input requests (real process)")
    cloud.check(result.document, "process")
    if raw.strip() in (b"", b"null", b"[]", b"\xff\xfe\xfd"):
        assert result.error["type"] == "Bosh::Clouds::CpiError"


def test_deeply_nested_json_is_a_cpi_error(sim, xen_config):
    result = run_raw(xen_config, b"[" * 100_000)
    assert result.error["type"] == "Bosh::Clouds::CpiError"
    assert result.error["message"].startswith("Must provide valid JSON payload")


def test_huge_request_does_not_hang_or_crash(sim, xen_config):
    raw = envelope("set_vm_metadata", ["vm", {f"k{i}": "v" * 1000 for i in range(5000)}])  # ~5 MB
    assert len(raw) > 5_000_000
    cloud = Cloud(sim)
    result = run_raw(xen_config, raw, timeout=60)
    cloud.check(result.document, "huge")
    assert result.seconds < 30
    assert sys.getsizeof(result.document["log"]) < 1_000_000, "the log must not echo a huge request"
