"""Pagination and exact-name lookups."""

from __future__ import annotations

import pytest
from cs_fakes import Call, FakeApi

from cpi_framework.cloudstack import CloudStackClient, UnexpectedResponse


def paged(items: list[dict], key: str, response: str):
    def handler(call: Call) -> dict:
        page, size = int(call.params["page"]), int(call.params["pagesize"])
        chunk = items[(page - 1) * size : page * size]
        inner = {"count": len(items), key: chunk} if chunk else {}
        return {response: inner}

    return handler


def test_pagination_over_three_pages(api: FakeApi, client: CloudStackClient) -> None:
    vms = [{"id": f"vm-{i}", "name": f"n{i}"} for i in range(7)]
    api.on("listVirtualMachines", paged(vms, "virtualmachine", "listvirtualmachinesresponse"))
    assert client.list("listVirtualMachines", {"listall": True}, pagesize=3) == vms
    assert [c.params["page"] for c in api.calls] == ["1", "2", "3"]
    assert all(c.params["pagesize"] == "3" and c.params["listall"] == "true" for c in api.calls)
    assert all(c.method == "GET" for c in api.calls)


def test_stops_at_count_without_an_extra_request(api: FakeApi, client: CloudStackClient) -> None:
    vms = [{"id": f"vm-{i}"} for i in range(6)]
    api.on("listVirtualMachines", paged(vms, "virtualmachine", "listvirtualmachinesresponse"))
    assert len(client.list("listVirtualMachines", pagesize=3)) == 6
    assert len(api.calls) == 2


def test_stops_at_empty_page_when_count_is_missing(api: FakeApi, client: CloudStackClient) -> None:
    api.on(
        "listVolumes",
        {"listvolumesresponse": {"volume": [{"id": "a"}, {"id": "b"}]}},
        {"listvolumesresponse": {}},
    )
    assert [v["id"] for v in client.list("listVolumes", pagesize=2)] == ["a", "b"]
    assert len(api.calls) == 2


def test_duplicates_across_shifting_pages_are_dropped(api: FakeApi, client: CloudStackClient) -> None:
    api.on(
        "listVolumes",
        {"listvolumesresponse": {"count": 3, "volume": [{"id": "a"}, {"id": "b"}]}},
        {"listvolumesresponse": {"count": 3, "volume": [{"id": "b"}, {"id": "c"}]}},
    )
    assert [v["id"] for v in client.list("listVolumes", pagesize=2)] == ["a", "b", "c"]


def test_empty_answer_is_empty_list(api: FakeApi, client: CloudStackClient) -> None:
    api.on("listTemplates", {"listtemplatesresponse": {}})
    assert client.list("listTemplates", {"templatefilter": "self"}) == []


def test_explicit_key_and_odd_list_keys(api: FakeApi, client: CloudStackClient) -> None:
    api.on(
        "listHypervisorCapabilities",
        {"listhypervisorcapabilitiesresponse": {"count": 1, "hypervisorCapabilities": [{"id": "h"}]}},
    )
    assert client.list("listHypervisorCapabilities") == [{"id": "h"}]
    assert client.list("listHypervisorCapabilities", key="hypervisorCapabilities") == [{"id": "h"}]
    assert client.list("listHypervisorCapabilities", key="other") == []


def test_ambiguous_list_key_needs_key(api: FakeApi, client: CloudStackClient) -> None:
    api.on("listThings", {"listthingsresponse": {"count": 1, "a": [{"id": 1}], "b": [{"id": 2}]}})
    with pytest.raises(UnexpectedResponse, match="pass key="):
        client.list("listThings")
    assert client.list("listThings", key="b") == [{"id": 2}]


def test_find_by_name_keeps_exact_matches_only(api: FakeApi, client: CloudStackClient) -> None:
    api.on(
        "listVirtualMachines",
        {
            "listvirtualmachinesresponse": {
                "count": 3,
                "virtualmachine": [
                    {"id": "1", "name": "cpivm-1"},
                    {"id": "2", "name": "cpivm-10"},
                    {"id": "3", "name": "xcpivm-1"},
                ],
            }
        },
    )
    found = client.find_by_name("listVirtualMachines", "cpivm-1", {"zoneid": "z"})
    assert found == [{"id": "1", "name": "cpivm-1"}]
    assert api.calls[0].params["name"] == "cpivm-1" and api.calls[0].params["zoneid"] == "z"


def capped(items: list[dict], key: str, response: str, server_max: int):
    """A server whose default.page.size is ``server_max`` (BaseListCmd's rules)."""

    def handler(call: Call) -> dict | tuple[int, dict]:
        if "pagesize" not in call.params:
            chunk = items[:server_max]
        else:
            page, size = int(call.params["page"]), int(call.params["pagesize"])
            if size > server_max:
                return 431, {response: {"errorcode": 431, "cserrorcode": 4350, "errortext":
                                        f"Page size can't exceed max allowed page size value: {server_max}"}}
            chunk = items[(page - 1) * size: page * size]
        return {response: {"count": len(items), key: chunk} if chunk else {}}

    return handler


def test_first_page_learns_the_cloud_page_size(api: FakeApi, client: CloudStackClient) -> None:
    """No paging on the first request: the server's own page size comes back, then pages of that size."""
    vms = [{"id": f"vm-{i}"} for i in range(5)]
    api.on("listVirtualMachines", capped(vms, "virtualmachine", "listvirtualmachinesresponse", 2))
    assert client.list("listVirtualMachines") == vms
    assert [(c.params.get("page"), c.params.get("pagesize")) for c in api.calls] == [
        (None, None), ("2", "2"), ("3", "2")]


def test_one_unpaged_request_when_everything_fits(api: FakeApi, client: CloudStackClient) -> None:
    vms = [{"id": f"vm-{i}"} for i in range(3)]
    api.on("listVirtualMachines", capped(vms, "virtualmachine", "listvirtualmachinesresponse", 500))
    assert client.list("listVirtualMachines") == vms
    assert len(api.calls) == 1


def test_too_large_explicit_page_size_retries_with_the_named_maximum(api: FakeApi, client: CloudStackClient) -> None:
    vms = [{"id": f"vm-{i}"} for i in range(5)]
    api.on("listVirtualMachines", capped(vms, "virtualmachine", "listvirtualmachinesresponse", 2))
    assert client.list("listVirtualMachines", pagesize=500) == vms
    assert [c.params["pagesize"] for c in api.calls] == ["500", "2", "2", "2"]
