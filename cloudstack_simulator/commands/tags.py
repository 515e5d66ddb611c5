"""Resource tags: the CPI's metadata and ownership markers."""

from __future__ import annotations

from typing import Any

from .. import models as m
from .. import views
from ..errors import param_error, runtime_error
from ..params import Params
from . import Ctx, command

# ResourceObjectType names (matched case-insensitively) -> simulator kinds.
TAGGABLE = {"uservm": ("UserVm", "vm"), "vminstance": ("UserVm", "vm"), "volume": ("Volume", "volume"),
            "template": ("Template", "template"), "snapshot": ("Snapshot", "snapshot"),
            "publicipaddress": ("PublicIpAddress", "publicip"), "network": ("Network", "network"),
            "loadbalancer": ("LoadBalancer", "lbrule")}
NOT_TAGGABLE = {"zone", "serviceoffering", "diskoffering", "nic", "domainrouter", "affinitygroup"}


def _resource_type(value: str) -> tuple[str, str]:
    low = value.lower()
    if low in TAGGABLE:
        return TAGGABLE[low]
    if low in NOT_TAGGABLE:
        raise param_error(f"The resource type {value} doesn't support resource tags")
    raise param_error(f"Invalid resource type: {value}")


def check_tag_values(pairs: list[tuple[Any, Any]]) -> None:
    """``TaggedResourceManagerImpl.createTags`` (all 4.x): each value must be non-empty, checked
    inside the transaction, i.e. when the job runs; the job dispatcher reports the
    InvalidParameterValueException as errorcode 530."""
    for key, value in pairs:
        if value is None or value == "":
            raise runtime_error(f"Value for the key {key} is either null or empty")


@command("createTags", is_async=True)
def create_tags(ctx: Ctx, p: Params) -> dict[str, Any]:
    ids = p.list("resourceids")
    if not ids:
        raise param_error("Unable to execute API command createtags due to missing parameter resourceids")
    rtype, kind = _resource_type(p.req("resourcetype"))
    pairs = [(t.get("key"), t.get("value", "")) for t in p.map("tags")]
    if not pairs:
        raise param_error("Unable to execute API command createtags due to missing parameter tags")
    if any(not k for k, _ in pairs):
        raise param_error("Tag key can't be empty")

    def run() -> dict[str, Any]:
        for rid in ids:
            if ctx.st.get(kind, rid) is None:
                raise param_error(f"Unable to find resource by id {rid} and type {rtype}")
        check_tag_values(pairs)
        for rid in ids:
            for key, _value in pairs:
                if any(t.resource_id == rid and t.key == key for t in ctx.st.tags):
                    raise param_error(f"tag {key} already on {rtype} with id {rid}")
        for rid in ids:
            for key, value in pairs:
                ctx.st.tags.append(m.Tag(key, value, rid, rtype))
        return {"success": True}

    return {"jobid": ctx.submit(run, None, None, None).id}


@command("deleteTags", is_async=True)
def delete_tags(ctx: Ctx, p: Params) -> dict[str, Any]:
    ids = p.list("resourceids")
    if not ids:
        raise param_error("Unable to execute API command deletetags due to missing parameter resourceids")
    rtype, kind = _resource_type(p.req("resourcetype"))
    wanted = p.map("tags")

    def matches(t: m.Tag) -> bool:
        if t.resource_id not in ids or t.resource_type != rtype:
            return False
        if not wanted:
            return True
        return any(w.get("key") == t.key and ("value" not in w or w["value"] == t.value) for w in wanted)

    def run() -> dict[str, Any]:
        for rid in ids:
            if ctx.st.get(kind, rid) is None:
                raise param_error(f"Unable to find resource by id {rid} and type {rtype}")
        ctx.st.tags = [t for t in ctx.st.tags if not matches(t)]
        return {"success": True}

    return {"jobid": ctx.submit(run, None, None, None).id}


@command("listTags")
def list_tags(ctx: Ctx, p: Params) -> dict[str, Any]:
    tags = list(ctx.st.tags)
    rtype = p.str("resourcetype")
    if rtype:
        canonical = _resource_type(rtype)[0]
        tags = [t for t in tags if t.resource_type == canonical]
    for param, attr in (("resourceid", "resource_id"), ("key", "key"), ("value", "value")):
        want = p.str(param)
        if want is not None:
            tags = [t for t in tags if getattr(t, attr) == want]
    return ctx.listing(p, [views.tag_view(ctx.st, t) for t in tags], "tag")
