"""CloudStack tags: the CPI's ownership tags and director metadata.

Everything the CPI creates carries ``bosh-cpi``, ``bosh-director-uuid`` and ``bosh-role``, so
``cloudstack-cpi orphans`` can find it and never mistake another tenant's resources for ours.
Metadata from ``set_*_metadata`` is added beside them and never removes them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from cpi_framework.cloudstack.jobs import AsyncJob
    from cpi_framework.context import CallContext

CPI_TAG = "bosh-cpi"
CPI_TAG_VALUE = "cloudstack"
DIRECTOR_TAG = "bosh-director-uuid"
ROLE_TAG = "bosh-role"
OWNERSHIP_KEYS = frozenset({CPI_TAG, DIRECTOR_TAG, ROLE_TAG})
MAX_VALUE_LENGTH = 255  # CloudStack's resource_tags.value column

Role = Literal["persistent-disk", "ephemeral-disk", "stemcell", "vm", "snapshot", "affinity-group"]
ResourceType = Literal["UserVm", "Volume", "Template", "Snapshot"]


def cpi_tags(ctx: CallContext, role: Role) -> dict[str, str]:
    """The ownership tags for a resource this call creates."""
    tags = {CPI_TAG: CPI_TAG_VALUE, ROLE_TAG: role}
    if ctx.director_uuid:
        tags[DIRECTOR_TAG] = ctx.director_uuid
    return tags


def stringify_metadata(metadata: Mapping[str, Any]) -> dict[str, str]:
    """Director metadata as tag values: strings (``index`` may be an Integer), bounded in length.

    ``None`` and ``""`` are left out: CloudStack refuses an empty tag value
    (``TaggedResourceManagerImpl.createTags``: "Value for the key … is either null or empty"), and
    a tag without a value says nothing a missing tag does not. Leaving the key out also removes a
    previous value of it (``replace_tags``), which is what clearing a value means.
    """
    result: dict[str, str] = {}
    for key, value in metadata.items():
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, str | int | float):
            text = str(value)
        else:
            text = json.dumps(value, sort_keys=True, default=str)
        result[str(key)] = text[:MAX_VALUE_LENGTH]
    return result


def as_tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """``tags[i].key``/``tags[i].value`` entries; empty values are dropped (the server refuses them)."""
    return [{"key": key, "value": value} for key, value in tags.items() if value != ""]


def create_tags(
    ctx: CallContext, resource_type: ResourceType, resource_ids: Iterable[str], tags: Mapping[str, str]
) -> None:
    """Add tags to resources (one async ``createTags`` job, waited for)."""
    params = _create_params(resource_type, resource_ids, tags)
    if params is not None:
        ctx.client.call_async("createTags", params, timeout=ctx.timeout("default"), operation="tags")


def submit_tags(
    ctx: CallContext, resource_type: ResourceType, resource_ids: Iterable[str], tags: Mapping[str, str]
) -> AsyncJob | None:
    """Submit the ``createTags`` job without waiting (None when there is nothing to tag):
    ``create_stemcell`` lets it run while the image is sent and confirms it afterwards."""
    params = _create_params(resource_type, resource_ids, tags)
    return ctx.client.submit("createTags", params) if params is not None else None


def _create_params(
    resource_type: ResourceType, resource_ids: Iterable[str], tags: Mapping[str, str]
) -> dict[str, Any] | None:
    """The one place a ``createTags`` request is built (None: nothing to tag)."""
    ids = list(resource_ids)
    tags = {k: v for k, v in tags.items() if v != ""}
    if not ids or not tags:
        return None
    return {"resourcetype": resource_type, "resourceids": ",".join(ids), "tags": as_tag_list(tags)}


def delete_tags(ctx: CallContext, resource_type: ResourceType, resource_id: str, tags: Mapping[str, str]) -> None:
    if not tags:
        return
    ctx.client.call_async(
        "deleteTags",
        {"resourcetype": resource_type, "resourceids": resource_id, "tags": as_tag_list(tags)},
        timeout=ctx.timeout("default"),
        operation="tags",
    )


def list_tags(ctx: CallContext, resource_type: ResourceType, resource_id: str) -> dict[str, str]:
    items = ctx.client.list("listTags", {"resourcetype": resource_type, "resourceid": resource_id, "listall": True})
    return {item["key"]: item.get("value", "") for item in items if "key" in item}


def replace_tags(
    ctx: CallContext,
    resource_type: ResourceType,
    resource_id: str,
    metadata: Mapping[str, str],
    *,
    current: Mapping[str, str] | None = None,
) -> None:
    """Make the resource's non-ownership tags equal ``metadata``; ownership tags are kept.

    CloudStack refuses to create a tag whose key exists, so changed keys are deleted first.
    ``current`` saves the ``listTags`` call when the caller already holds the resource's tags
    (list responses carry them).
    """
    existing = dict(current) if current is not None else list_tags(ctx, resource_type, resource_id)
    wanted = {k: v for k, v in metadata.items() if k not in OWNERSHIP_KEYS and v != ""}
    stale = {k: v for k, v in existing.items() if k not in OWNERSHIP_KEYS and wanted.get(k) != v}
    missing = {k: v for k, v in wanted.items() if existing.get(k) != v}
    delete_tags(ctx, resource_type, resource_id, stale)
    create_tags(ctx, resource_type, [resource_id], missing)


def tags_of(resource: Mapping[str, Any]) -> dict[str, str]:
    """The tags embedded in a list response item (``"tags": [{"key", "value"}, …]``)."""
    return {t["key"]: t.get("value", "") for t in resource.get("tags") or [] if isinstance(t, dict) and "key" in t}
