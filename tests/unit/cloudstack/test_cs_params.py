"""Parameter flattening, read-only classification, redaction and scrubbing."""

from __future__ import annotations

import pytest

from cpi_framework.cloudstack import flatten_params, is_read_only, redact_params
from cpi_framework.cloudstack.params import scrub


def test_flatten_scalars_bools_and_none() -> None:
    flat = flatten_params({"zoneId": "z", "size": 10, "ratio": 1.5, "startvm": True, "listall": False, "x": None})
    assert flat == {"zoneid": "z", "size": "10", "ratio": "1.5", "startvm": "true", "listall": "false"}


def test_flatten_maps_and_lists_cloudstack_style() -> None:
    flat = flatten_params(
        {
            "details": {"cpuNumber": 2, "memory": 4096},
            "tags": [{"key": "a", "value": "b"}, {"key": "c", "value": "d"}],
            "iptonetworklist": [{"networkid": "n1", "ip": "10.0.0.5"}],
            "networkids": ["n1", "n2"],
            "affinitygroupids": [],
        }
    )
    assert flat == {
        "details[0].cpuNumber": "2",
        "details[0].memory": "4096",
        "tags[0].key": "a",
        "tags[0].value": "b",
        "tags[1].key": "c",
        "tags[1].value": "d",
        "iptonetworklist[0].networkid": "n1",
        "iptonetworklist[0].ip": "10.0.0.5",
        "networkids": "n1,n2",
    }


def test_flatten_keeps_prebuilt_map_names_but_lowercases_prefix() -> None:
    assert flatten_params({"Details[0].cpuNumber": 2}) == {"details[0].cpuNumber": "2"}


def test_flatten_rejects_unknown_types() -> None:
    with pytest.raises(TypeError):
        flatten_params({"x": object()})


@pytest.mark.parametrize(
    ("command", "read_only"),
    [
        ("listZones", True),
        ("getVirtualMachineUserData", True),
        ("queryAsyncJobResult", True),
        ("getUploadParamsForTemplate", False),
        ("deployVirtualMachine", False),
        ("createTags", False),
    ],
)
def test_is_read_only(command: str, read_only: bool) -> None:
    assert is_read_only(command) is read_only


def test_redact_params() -> None:
    shown = redact_params({"apikey": "K", "signature": "S", "userdata": "QUJD" * 10, "password": "p", "name": "vm-1"})
    assert shown == {"userdata": "<40 bytes>", "password": "***", "name": "vm-1"}


def test_scrub_removes_signed_url_parts_and_known_secrets() -> None:
    text = (
        "HTTPSConnectionPool(host='h', port=443): Max retries exceeded with url: "
        "/client/api?command=listZones&apikey=AK&signature=abc%2B%3D (Caused by X) http://user:pw@proxy:3128 "
        "and SECRETVALUE; is it ok? yes"
    )
    out = scrub(text, ["SECRETVALUE"])
    assert "AK" not in out and "abc" not in out and "pw@" not in out and "SECRETVALUE" not in out
    assert "is it ok? yes" in out
