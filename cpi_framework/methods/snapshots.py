"""Disk snapshots: CloudStack volume snapshots carrying the director's metadata as tags.

The director calls ``snapshot_disk`` only with ``director.enable_snapshots``; its metadata
has an Integer ``index``, so every value is stringified before it becomes a tag.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cpi_framework.errors import CloudError
from cpi_framework.services import catalog, volumes
from cpi_framework.services.tags import OWNERSHIP_KEYS, as_tag_list, cpi_tags, create_tags, stringify_metadata, tags_of

if TYPE_CHECKING:
    from cpi_framework.context import CallContext


def snapshot_disk(ctx: CallContext, disk_cid: str, metadata: dict | None = None) -> str:
    """Snapshot the volume; returns the snapshot UUID. Tags: ownership (role ``snapshot``) + metadata."""
    from cpi_framework.cloudstack import AsyncJobTimeout, CloudStackError

    volume = volumes.get_volume(ctx, disk_cid)
    if volume.get("state") == "Allocated":
        raise CloudError(
            f"Disk '{disk_cid}' has never been attached (state Allocated): CloudStack has no data to snapshot yet"
        )
    wanted = {k: v for k, v in stringify_metadata(metadata or {}).items() if k not in OWNERSHIP_KEYS}
    tags = {**wanted, **cpi_tags(ctx, "snapshot")}
    job = ctx.client.submit("createSnapshot", {"volumeid": volume["id"], "tags": as_tag_list(tags)})
    try:
        result = ctx.client.wait(job, timeout=ctx.timeout("snapshot"), operation="snapshot")
    except CloudStackError as exc:
        # Whatever went wrong - the job failed, timed out, or its answer was lost - the
        # snapshot it may have made is known by id: remove it so a retry cannot leave two.
        if job.object_id:
            _discard(ctx, job.object_id)
        if isinstance(exc, AsyncJobTimeout):
            raise CloudError(f"Snapshot of disk '{disk_cid}' did not finish: {exc}", ok_to_retry=True) from exc
        raise CloudError(f"Snapshot of disk '{disk_cid}' failed: {exc}") from exc
    snapshot = result.get("snapshot") or {}
    snapshot_id = str(snapshot.get("id") or job.object_id or "")
    if not snapshot_id:
        raise CloudError(f"createSnapshot for disk '{disk_cid}' answered without a snapshot id")
    missing = {k: v for k, v in tags.items() if tags_of(snapshot).get(k) != v}
    if missing:  # servers before createSnapshot's ``tags`` ignore the parameter
        create_tags(ctx, "Snapshot", [snapshot_id], missing)
    ctx.log.info("snapshot %s of disk %s created", snapshot_id, disk_cid)
    return snapshot_id


def _discard(ctx: CallContext, snapshot_id: str) -> None:
    """Best effort: a snapshot whose outcome we could not read would otherwise leak.

    Waited for (bounded by the snapshot deadline) so the failure is logged when it happens;
    ``cloudstack-cpi orphans`` finds what still survives (tagged, role ``snapshot``).
    """
    try:
        ctx.client.call_async("deleteSnapshot", {"id": snapshot_id}, timeout=ctx.timeout("snapshot"),
                              operation="snapshot")
        ctx.log.info("removed snapshot %s whose creation could not be confirmed", snapshot_id)
    except Exception as exc:  # the original failure is the error to report; this one is logged
        ctx.log.warning("could not remove snapshot %s after a failed snapshot_disk: %s", snapshot_id, exc)


def find_snapshot(ctx: CallContext, snapshot_cid: str) -> dict[str, Any] | None:
    """The snapshot a CID names; None when it does not exist (or is being destroyed)."""
    if not catalog.is_uuid(snapshot_cid):
        return None
    items = volumes.list_by_id(ctx, "listSnapshots", snapshot_cid)
    found = [s for s in items if s.get("state") not in ("Destroying", "Destroyed")]
    return found[0] if found else None


def delete_snapshot(ctx: CallContext, snapshot_cid: str) -> None:
    """Delete the snapshot; a missing one is success (AWS lifecycle; the director tolerates either)."""
    from cpi_framework.cloudstack import CloudStackError

    snapshot = find_snapshot(ctx, snapshot_cid)
    if snapshot is None:
        ctx.log.warning("delete_snapshot: snapshot '%s' not found; nothing to delete", snapshot_cid)
        return
    try:
        ctx.client.call_async("deleteSnapshot", {"id": snapshot["id"]}, timeout=ctx.timeout("snapshot"),
                              operation="snapshot")
    except CloudStackError as exc:
        if find_snapshot(ctx, snapshot_cid) is None:
            ctx.log.info("snapshot %s is gone (the delete said: %s)", snapshot_cid, exc)
            return
        raise CloudError(f"Deleting snapshot '{snapshot_cid}' failed: {exc}") from exc
    ctx.log.info("deleted snapshot %s", snapshot_cid)
