"""CloudStack volumes as BOSH disks: resolve CIDs, create, attach, detach, delete.

Shared by the disk methods and ``create_vm``/``delete_vm`` (ephemeral disks). Sizes are MiB
on the BOSH side and GB on CloudStack's ``createVolume``/``resizeVolume``
(``VolumeApiServiceImpl``); a volume's ``size`` read back is bytes. Every wait is bounded by a
``cloudstack.timeouts`` entry: ``volume`` (create/resize/delete), ``attach_volume``,
``detach_volume``.
"""

from __future__ import annotations

import math
import time
import uuid
from typing import TYPE_CHECKING, Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from cpi_framework.errors import CloudError, CpiError, DiskNotFound
from cpi_framework.services import catalog
from cpi_framework.services.tags import ROLE_TAG, Role, cpi_tags, create_tags, submit_tags, tags_of

if TYPE_CHECKING:
    from cpi_framework.context import CallContext

MIB = 2**20
GIB = 2**30
LEGACY_PREFIXES = ("cpi-disk-", "cpi-ephemeral-disk-")
"""Names the earlier CloudStack CPIs (Java bosh-cloudstack-cpi-core, Go) gave volumes and used as disk CIDs."""
LEGACY_EPHEMERAL_PREFIX = "cpi-ephemeral-disk-"
NAME_PREFIX = {"persistent-disk": "bosh-disk-", "ephemeral-disk": "bosh-ephemeral-disk-"}
GONE_STATES = frozenset({"Destroy", "Destroying", "Expunging", "Expunged"})
"""Volume states that mean "deleted" to BOSH (CloudStack may keep the row until expunge)."""
ATTACH_RETRY_PAUSE = (1.0, 2.0, 5.0, 10.0)
"""Pauses between retries of a transient attach failure; the last repeats until the deadline."""


# -- cloud_properties --------------------------------------------------------------------------


class DiskTypeSchema(Schema):
    """Disk type cloud_properties. ``name`` is what the director sets for dynamic disks."""

    class Meta:
        unknown = EXCLUDE

    disk_offering = fields.String(load_default=None, validate=validate.Length(min=1))
    name = fields.String(load_default=None)


def load_disk_type(ctx: CallContext, props: dict[str, Any] | None) -> dict[str, Any]:
    """Validated disk cloud_properties; unknown keys warn, wrong types raise CpiError naming key and value."""
    raw = props or {}
    unknown = sorted(k for k in raw if k not in DiskTypeSchema().fields)
    if unknown:
        ctx.log.warning("disk cloud_properties: ignoring unknown keys %s", ", ".join(unknown))
    try:
        return DiskTypeSchema().load(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{key} = {raw.get(key)!r}: {' '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
            for key, msgs in sorted(exc.messages.items())  # type: ignore[union-attr]
        )
        raise CpiError(f"Invalid disk cloud_properties: {problems}") from exc


def offering_for(ctx: CallContext, disk_type: dict[str, Any]) -> str:
    """The disk offering named by the disk type, else ``cpi.default_disk_offering``."""
    name = disk_type.get("disk_offering") or ctx.config.cpi.default_disk_offering
    if not name:
        raise CpiError(
            "No disk offering: set 'disk_offering' in the disk type's cloud_properties "
            "or 'cpi.default_disk_offering' in the CPI config"
        )
    return name


# -- sizes -------------------------------------------------------------------------------------


def check_size_mb(size_mb: Any, what: str = "size") -> int:
    if isinstance(size_mb, bool) or not isinstance(size_mb, int) or size_mb <= 0:
        raise CpiError(f"Disk {what} must be a positive integer of MiB, got {size_mb!r}")
    return size_mb


def gb_for(size_mb: int) -> int:
    """Whole GB holding ``size_mb`` MiB: CloudStack sizes are GB, and a disk must never be smaller."""
    return max(1, math.ceil(size_mb / 1024))


def volume_gb(volume: dict[str, Any]) -> int:
    """The volume's size in whole GB (``size`` is bytes; rounded up to stay on the safe side)."""
    return math.ceil(int(volume.get("size") or 0) / GIB)


def is_custom(offering: dict[str, Any]) -> bool:
    return bool(offering.get("iscustomized"))


def size_params(offering: dict[str, Any], size_mb: int) -> dict[str, Any]:
    """``createVolume`` size parameters for the offering; a fixed offering must hold ``size_mb``."""
    if is_custom(offering):
        return {"size": gb_for(size_mb)}
    fixed_gb = int(offering.get("disksize") or 0)
    if fixed_gb * 1024 < size_mb:
        raise CloudError(
            f"Disk offering '{offering.get('name')}' has a fixed size of {fixed_gb} GB, too small for "
            f"{size_mb} MiB; choose a custom-size offering or a larger one"
        )
    return {}


# -- lookups -----------------------------------------------------------------------------------


def is_legacy_cid(cid: str) -> bool:
    return cid.startswith(LEGACY_PREFIXES)


def _live_data_disks(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in items if v.get("type") == "DATADISK" and v.get("state") not in GONE_STATES]


def list_by_id(ctx: CallContext, command: str, item_id: str) -> list[dict[str, Any]]:
    """``<command> id=<item_id>`` items with exactly that id; [] when the server says it does not exist."""
    from cpi_framework.cloudstack import ApiError

    try:
        items = ctx.client.list(command, {"id": item_id, "listall": True})
    except ApiError as exc:
        if not exc.is_not_found:
            raise
        return []
    return [item for item in items if item.get("id") == item_id]


def find_volume(ctx: CallContext, cid: str) -> dict[str, Any] | None:
    """The DATADISK volume a disk CID names (UUID, or a ``cpi-disk-…`` name of the earlier CPIs); None when absent.

    One ``listVolumes`` call. A CID that is neither costs no call at all: it cannot exist.
    Volumes being destroyed count as absent.
    """
    if not isinstance(cid, str) or not cid:
        return None
    if catalog.is_uuid(cid):
        found = _live_data_disks(list_by_id(ctx, "listVolumes", cid))
        return found[0] if found else None
    if is_legacy_cid(cid):
        found = _live_data_disks(ctx.client.find_by_name("listVolumes", cid, {"listall": True}))
        if len(found) > 1:
            ids = ", ".join(str(v.get("id")) for v in found)
            raise CloudError(f"Disk '{cid}' is ambiguous: several volumes carry that name ({ids})")
        return found[0] if found else None
    return None


def get_volume(ctx: CallContext, cid: str) -> dict[str, Any]:
    volume = find_volume(ctx, cid)
    if volume is None:
        raise DiskNotFound(f"Disk '{cid}' not found", ok_to_retry=False)
    return volume


def volumes_of_vm(ctx: CallContext, vm_id: str, *, type: str | None = None) -> list[dict[str, Any]]:  # noqa: A002
    """Volumes attached to a VM (``type`` ``ROOT``/``DATADISK`` narrows), in device-id order."""
    items = ctx.client.list("listVolumes", {"virtualmachineid": vm_id, "type": type, "listall": True})
    items = [v for v in items if v.get("virtualmachineid") == vm_id and v.get("state") not in GONE_STATES]
    return sorted(items, key=lambda v: int(v.get("deviceid") or 0))


def role_of(volume: dict[str, Any]) -> str | None:
    """``persistent-disk``/``ephemeral-disk`` from our tag, or from an earlier CPI's name; None otherwise."""
    role = tags_of(volume).get(ROLE_TAG)
    if role:
        return role
    name = str(volume.get("name") or "")
    if name.startswith(LEGACY_EPHEMERAL_PREFIX):
        return "ephemeral-disk"
    if name.startswith("cpi-disk-"):
        return "persistent-disk"
    return None


def cid_of(volume: dict[str, Any]) -> str:
    """The CID the director knows a volume by: its name for disks the earlier CPIs made, else its UUID."""
    name = str(volume.get("name") or "")
    if is_legacy_cid(name) and ROLE_TAG not in tags_of(volume):
        return name
    return str(volume["id"])


def new_volume_name(role: Role) -> str:
    """A fresh, recognisable volume name (``bosh-disk-<uuid4>``); CIDs are the CloudStack UUIDs."""
    return f"{NAME_PREFIX.get(role, 'bosh-')}{uuid.uuid4()}"


# -- mutations ---------------------------------------------------------------------------------


def create_volume(
    ctx: CallContext,
    *,
    name: str,
    zone_id: str,
    size_mb: int,
    offering: str | dict[str, Any],
    role: Role,
) -> dict[str, Any]:
    """Create a tagged DATADISK volume (state ``Allocated`` until its first attach).

    Custom-size offerings get ``size_mb`` rounded up to whole GB; fixed ones must be large
    enough. If anything fails once the job was submitted, the volume is deleted (best
    effort, logged) so no untagged orphan stays behind.
    """
    from cpi_framework.cloudstack import CloudStackError

    check_size_mb(size_mb)
    offer = offering if isinstance(offering, dict) else catalog.disk_offering(ctx, offering)
    params = {"name": name, "zoneid": zone_id, "diskofferingid": offer["id"], **size_params(offer, size_mb)}
    tags = cpi_tags(ctx, role)
    job = ctx.client.submit("createVolume", params)
    try:
        # tagged while the create job runs (the id comes back at once): one wait for both jobs
        tag_job = submit_tags(ctx, "Volume", [job.object_id], tags) if job.object_id else None
        results = ctx.client.wait_all([job] + ([tag_job] if tag_job else []), timeout=ctx.timeout("volume"),
                                      operation="volume")
        for outcome in results:
            if isinstance(outcome, CloudStackError):
                raise outcome
        result = results[0]
        volume = result.get("volume") or result
        if tag_job is None:
            create_tags(ctx, "Volume", [volume["id"]], tags)
    except (CloudStackError, KeyError) as exc:
        if job.object_id:
            _discard(ctx, job.object_id)
        if isinstance(exc, KeyError):
            raise CloudError(f"createVolume for '{name}' answered without a volume id") from exc
        raise CloudError(f"Creating volume '{name}' ({size_mb} MiB, offering '{offer.get('name')}') "
                         f"failed: {exc}", ok_to_retry=_transient(exc)) from exc
    volume["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
    ctx.log.info("created volume %s (%s) in zone %s, %s GB", volume["id"], name,
                 volume.get("zonename") or catalog.zone_name(ctx, zone_id), volume_gb(volume))
    return volume


def _transient(exc: BaseException) -> bool:
    from cpi_framework.errors import is_transient

    return is_transient(exc)


def _discard(ctx: CallContext, volume_id: str) -> None:
    """Best-effort removal of a volume a failed create left behind."""
    try:
        ctx.client.call("deleteVolume", {"id": volume_id})
        ctx.log.info("removed volume %s left by a failed create", volume_id)
    except Exception as exc:  # the original error matters more; this one is logged for operators
        ctx.log.warning("could not remove volume %s after a failed create: %s", volume_id, exc)


def attach_volume(ctx: CallContext, volume: dict[str, Any], vm: dict[str, Any]) -> dict[str, Any]:
    """Attach ``volume`` to ``vm``; returns the volume as listed after the attach (with ``deviceid``).

    Idempotent: a volume already attached to this VM is returned as is. Attached elsewhere
    is a CloudError naming both VMs. Failures the active plugin calls transient (XenServer's
    "requires PV drivers" while the guest boots) are retried until ``timeouts.attach_volume``.
    """
    from cpi_framework.cloudstack import AsyncJobTimeout, CloudStackError

    volume_id, vm_id = str(volume["id"]), str(vm["id"])
    attached_to = volume.get("virtualmachineid")
    if attached_to == vm_id:
        return volume
    if attached_to:
        raise CloudError(
            f"Disk '{volume_id}' is attached to VM '{volume.get('vmname') or attached_to}' ({attached_to}), "
            f"cannot attach it to VM '{vm.get('name') or vm_id}' ({vm_id})"
        )
    if volume.get("zoneid") and vm.get("zoneid") and volume["zoneid"] != vm["zoneid"]:
        raise CloudError(
            f"Disk '{volume_id}' is in zone '{volume.get('zonename') or volume['zoneid']}' but VM '{vm_id}' is in "
            f"zone '{vm.get('zonename') or vm['zoneid']}'; CloudStack attaches only within a zone"
        )
    budget = ctx.timeout("attach_volume")
    deadline = time.monotonic() + budget
    attempt = 0
    while True:
        attempt += 1
        remaining = max(deadline - time.monotonic(), 1.0)
        try:
            result = ctx.client.call_async(
                "attachVolume", {"id": volume_id, "virtualmachineid": vm_id}, timeout=remaining,
                operation="attach_volume",
            )
            attached = result.get("volume") or {}
            if attached.get("virtualmachineid") == vm_id and attached.get("deviceid") is not None:
                return attached
            return _read_back_attached(ctx, volume_id, vm_id)
        except AsyncJobTimeout as exc:
            raise CloudError(f"Attaching disk '{volume_id}' to VM '{vm_id}' did not finish in {budget:.0f}s: {exc}",
                             ok_to_retry=True) from exc
        except CloudStackError as exc:
            current = find_volume(ctx, volume_id)
            if current is not None and current.get("virtualmachineid") == vm_id:
                return current  # an earlier attempt went through after all
            pause = ATTACH_RETRY_PAUSE[min(attempt - 1, len(ATTACH_RETRY_PAUSE) - 1)]
            retry = ctx.plugins.attach_error_is_transient(exc) or _transient(exc)
            if retry and time.monotonic() + pause < deadline:
                ctx.log.warning("attach of %s to %s failed (attempt %d), retrying in %.0fs: %s",
                                volume_id, vm_id, attempt, pause, exc)
                time.sleep(pause)
                continue
            raise CloudError(f"Attaching disk '{volume_id}' to VM '{vm_id}' failed after {attempt} attempt(s): "
                             f"{exc}", ok_to_retry=retry) from exc


def _read_back_attached(ctx: CallContext, volume_id: str, vm_id: str) -> dict[str, Any]:
    current = find_volume(ctx, volume_id)
    if current is None or current.get("virtualmachineid") != vm_id or current.get("deviceid") is None:
        raise CloudError(f"attachVolume reported success but disk '{volume_id}' is not attached to VM '{vm_id}'")
    return current


def detach_volume(ctx: CallContext, volume: dict[str, Any]) -> None:
    """Detach ``volume`` from whatever VM holds it; a volume already detached is left alone."""
    from cpi_framework.cloudstack import CloudStackError

    if not volume.get("virtualmachineid"):
        return
    volume_id = str(volume["id"])
    try:
        ctx.client.call_async("detachVolume", {"id": volume_id}, timeout=ctx.timeout("detach_volume"),
                              operation="detach_volume")
    except CloudStackError as exc:
        current = find_volume(ctx, volume_id)
        if current is None or not current.get("virtualmachineid"):
            ctx.log.info("volume %s is detached (the detach call said: %s)", volume_id, exc)
            return
        raise CloudError(f"Detaching disk '{volume_id}' from VM '{volume.get('vmname') or volume['virtualmachineid']}'"
                         f" failed: {exc}", ok_to_retry=_transient(exc)) from exc
    ctx.log.info("detached volume %s from VM %s", volume_id, volume["virtualmachineid"])


def delete_volume(ctx: CallContext, volume: dict[str, Any]) -> None:
    """Delete a detached volume and verify it is gone. Never for a persistent disk outside delete_disk."""
    from cpi_framework.cloudstack import ApiError

    volume_id = str(volume["id"])
    try:
        ctx.client.call("deleteVolume", {"id": volume_id})
    except ApiError as exc:
        if not exc.is_not_found:
            raise CloudError(f"Deleting disk '{volume_id}' failed: {exc}", ok_to_retry=_transient(exc)) from exc
    if find_volume(ctx, volume_id) is not None:
        raise CloudError(f"Disk '{volume_id}' still exists after deleteVolume; not reporting success", ok_to_retry=True)
    ctx.log.info("deleted volume %s (%s)", volume_id, volume.get("name"))
