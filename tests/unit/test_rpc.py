"""Envelope validation and argument binding, in process."""

from __future__ import annotations

from typing import Any

import pytest

from cpi_framework import rpc
from cpi_framework.errors import CpiError, MethodNotImplemented


def sample(ctx: Any, vm_cid: str, props: dict, disk_cids: list | None = None, size: int = 0) -> None:
    """A method signature like the real ones."""


def optional_cid(ctx: Any, vm_cid: str | None) -> None:
    """create_disk's VM hint may be null or empty."""


def test_parse_request_accepts_minimal_envelope():
    assert rpc.parse_request(b'{"method":"info","arguments":[]}')["method"] == "info"


def test_api_version_must_be_int_not_bool():
    with pytest.raises(CpiError):
        rpc.parse_request(b'{"method":"info","arguments":[],"api_version":true}')


def test_lookup_unknown_and_too_old():
    with pytest.raises(MethodNotImplemented, match="Unknown method 'x'"):
        rpc.lookup("x", 2)
    with pytest.raises(MethodNotImplemented, match="requires CPI API version 2"):
        rpc.lookup("update_disk", 1)


def test_bind_ignores_extra_and_checks_types():
    assert rpc.bind_arguments("sample", sample, ["vm-1", {}, None, 3, "extra"]) == ["vm-1", {}, None, 3]
    assert rpc.bind_arguments("sample", sample, ["vm-1", {}]) == ["vm-1", {}]
    with pytest.raises(CpiError, match=r"expected 2, got 1 \(missing: props\)"):
        rpc.bind_arguments("sample", sample, ["vm-1"])
    with pytest.raises(CpiError, match="'props' of 'sample' must be an object, got an array"):
        rpc.bind_arguments("sample", sample, ["vm-1", []])
    with pytest.raises(CpiError, match="'disk_cids' of 'sample' must be an array or null"):
        rpc.bind_arguments("sample", sample, ["vm-1", {}, "disk"])
    with pytest.raises(CpiError, match="'size' of 'sample' must be an integer, got a boolean"):
        rpc.bind_arguments("sample", sample, ["vm-1", {}, None, True])
    with pytest.raises(CpiError, match="non-empty"):
        rpc.bind_arguments("sample", sample, ["", {}])


def test_optional_cid_may_be_empty_or_null():
    assert rpc.bind_arguments("x", optional_cid, [None]) == [None]
    assert rpc.bind_arguments("x", optional_cid, [""]) == [""]


def test_every_method_in_the_table_resolves_to_a_function():
    for name, entry in rpc.METHODS.items():
        module, _, function = entry.target.partition(":")
        assert module and function, name


def test_collect_secrets_walks_nested_arguments():
    request = {"arguments": ["agent", {"env": {"bosh": {"password": "pw-hash-1", "mbus": {"cert": {
        "private_key": "KEYDATA"}}, "blobstores": [{"options": {"secret_access_key": "S3SECRET"}}]}}}]}
    assert set(rpc.collect_secrets(request)) == {"pw-hash-1", "KEYDATA", "S3SECRET"}
