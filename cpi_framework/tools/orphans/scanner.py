"""What ``orphans`` decides: the CPI's tagged resources, each classified by facts the cloud holds.

:class:`Scanner` lists the resources carrying the CPI's ownership tag, turns each into a
:class:`Finding` (orphan or kept, and why), and deletes the provable orphans on request; the
command in :mod:`cpi_framework.tools.orphans` only parses options and prints the findings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cpi_framework.tools.common import age_seconds, format_duration

if TYPE_CHECKING:
    from cpi_framework.context import CallContext

KINDS = ("vm", "volume", "snapshot", "template")
TRANSITIONAL_VM_STATES = frozenset({"Starting", "Stopping", "Migrating"})
METADATA_KEYS = ("director", "deployment")
UNTAGGED_EPHEMERAL_NAME = re.compile(r"^bosh-ephemeral-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")
UNTAGGED_VM_NAME = re.compile(r"^vm-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
"""The name ``create_vm`` deploys with; tags follow the deploy job, so a kill during it leaves none."""


@dataclass
class Finding:
    kind: str
    id: str
    name: str
    state: str
    role: str
    director: str
    age: float | None
    reason: str
    orphan: bool
    """Provably orphaned and old enough: deleted with ``--delete``."""
    note: str = ""
    """Why an orphan-looking resource is kept (too young, persistent disk without the flag…)."""
    result: str = ""
    resource: dict[str, Any] = field(default_factory=dict, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "role": self.role,
            "director_uuid": self.director,
            "age_seconds": None if self.age is None else int(self.age),
            "reason": self.reason,
            "orphan": self.orphan,
            "note": self.note,
            "result": self.result,
        }


class Scanner:
    """Lists the CPI's resources and classifies each; :meth:`delete` removes the provable orphans."""

    def __init__(
        self, ctx: CallContext, *, director_uuid: str | None, min_age: float, include_persistent: bool
    ) -> None:
        self.ctx = ctx
        self.director_uuid = director_uuid
        self.min_age = min_age
        self.include_persistent = include_persistent
        self.findings: list[Finding] = []

    def _tag_filter(self) -> list[dict[str, str]]:
        from cpi_framework.services.tags import CPI_TAG, CPI_TAG_VALUE, DIRECTOR_TAG

        tags = [{"key": CPI_TAG, "value": CPI_TAG_VALUE}]
        if self.director_uuid:
            tags.append({"key": DIRECTOR_TAG, "value": self.director_uuid})
        return tags

    def _list(self, command: str, extra: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        from cpi_framework.services.tags import CPI_TAG, CPI_TAG_VALUE, DIRECTOR_TAG, tags_of

        items = self.ctx.client.list(command, {"listall": True, "tags": self._tag_filter(), **(extra or {})})
        # the server filters by tag already; checking again costs nothing and guards a lax server
        return [
            i
            for i in items
            if tags_of(i).get(CPI_TAG) == CPI_TAG_VALUE
            and (not self.director_uuid or tags_of(i).get(DIRECTOR_TAG) == self.director_uuid)
        ]

    def _finding(self, kind: str, item: dict[str, Any], reason: str, *, orphan: bool = True, note: str = "") -> Finding:
        from cpi_framework.services.tags import DIRECTOR_TAG, ROLE_TAG, tags_of

        tags = tags_of(item)
        age = age_seconds(item.get("created"))
        if orphan and age is None:
            orphan, note = False, "its age is unknown (no 'created' field)"
        elif orphan and age < self.min_age:
            orphan, note = False, f"younger than --min-age {format_duration(self.min_age)}; may be in use right now"
        finding = Finding(
            kind,
            str(item.get("id")),
            str(item.get("name") or ""),
            str(item.get("state") or item.get("status") or ""),
            tags.get(ROLE_TAG, ""),
            tags.get(DIRECTOR_TAG, ""),
            age,
            reason,
            orphan,
            note,
            resource=item,
        )
        self.findings.append(finding)
        return finding

    # -- scanning ----------------------------------------------------------------------------

    def scan(self) -> list[Finding]:
        vms = self.scan_vms()
        self.scan_untagged_vms()
        self.scan_volumes(vms)
        self.scan_untagged_ephemeral_volumes()
        self.scan_snapshots()
        self.scan_templates()
        return self.findings

    def scan_vms(self) -> dict[str, Finding | None]:
        """Live tagged VMs by id → their finding (None: a VM some director knows)."""
        from cpi_framework.services.vms import ABSENT_STATES

        known: dict[str, Finding | None] = {}
        for vm in self._list("listVirtualMachines", {"details": "min"}):
            state = str(vm.get("state") or "")
            if state in ABSENT_STATES:
                continue
            if has_bosh_metadata(vm):
                known[str(vm["id"])] = None
                continue
            reason = f"VM never got BOSH metadata (interrupted create_vm), state {state}"
            finding = self._finding("vm", vm, reason)
            if finding.orphan and state in TRANSITIONAL_VM_STATES:
                finding.orphan, finding.note = False, f"state {state} is changing; run again later"
            known[str(vm["id"])] = finding
        return known

    def scan_untagged_vms(self) -> None:
        """VMs named like ``create_vm``'s but with no tag at all: killed during ``deployVirtualMachine``.

        The name alone proves nothing (anyone may name a VM so), so they are reported, never deleted.
        """
        from cpi_framework.services.vms import ABSENT_STATES

        if self.director_uuid:
            return  # untagged VMs name no director
        for vm in self.ctx.client.list("listVirtualMachines", {"listall": True, "details": "min", "keyword": "vm-"}):
            if (
                UNTAGGED_VM_NAME.match(str(vm.get("name") or ""))
                and not vm.get("tags")
                and vm.get("state") not in ABSENT_STATES
            ):
                self._finding(
                    "vm",
                    vm,
                    "untagged VM named like create_vm's (killed while deploying?)",
                    orphan=False,
                    note="not provably ours: check it and delete it by hand, with its data volume "
                         "(DATA-…, the ephemeral disk deployed with it) if it has one",
                )

    def scan_untagged_ephemeral_volumes(self) -> None:
        """Volumes named ``bosh-ephemeral-<vm id>`` with no tag (create_vm killed before tagging
        them) whose VM is gone. Reported, never deleted: a name proves nothing. While the VM
        exists, deleting the VM (or its orphan finding) removes the volume by that name."""
        from cpi_framework.services import vms
        from cpi_framework.services.volumes import GONE_STATES

        if self.director_uuid:
            return  # untagged volumes name no director
        for volume in self.ctx.client.list(
            "listVolumes", {"listall": True, "type": "DATADISK", "keyword": vms.EPHEMERAL_PREFIX}
        ):
            match = UNTAGGED_EPHEMERAL_NAME.match(str(volume.get("name") or ""))
            if (
                not match
                or volume.get("tags")
                or volume.get("virtualmachineid")
                or volume.get("state") in GONE_STATES
                or vms.find_vm(self.ctx, match.group(1)) is not None
            ):
                continue
            self._finding(
                "volume",
                volume,
                f"untagged ephemeral disk whose VM {match.group(1)} is gone (create_vm killed before tagging it?)",
                orphan=False,
                note="not provably ours: check it and delete it by hand",
            )

    def scan_volumes(self, vms: dict[str, Finding | None]) -> None:
        from cpi_framework.services.tags import tags_of
        from cpi_framework.services.vms import VM_ID_TAG
        from cpi_framework.services.volumes import GONE_STATES, role_of

        for volume in self._list("listVolumes"):
            if volume.get("type") == "ROOT" or volume.get("state") in GONE_STATES:
                continue
            role = role_of(volume)
            attached = str(volume.get("virtualmachineid") or "")
            if role == "ephemeral-disk":
                owner = attached or tags_of(volume).get(VM_ID_TAG, "")
                if attached and attached not in vms:
                    # attached, so its VM exists, but carries no CPI tag: a create_vm killed
                    # between tagging the disk and the VM (the VM's own finding says so)
                    self._finding("volume", volume, f"ephemeral disk of VM {owner}, which has no CPI tag",
                                  orphan=False, note="kept with its VM: delete the VM by hand first")
                    continue
                vm_finding = vms.get(owner, "gone") if owner else "gone"
                if vm_finding is None and attached:
                    continue  # the disk of a VM a director knows
                if vm_finding is None:
                    self._finding(
                        "volume",
                        volume,
                        f"ephemeral disk detached from its VM {owner}",
                        orphan=False,
                        note="its VM still exists; delete_vm removes it",
                    )
                elif isinstance(vm_finding, Finding):
                    note = vm_finding.note and f"kept with its VM: {vm_finding.note}"
                    self._finding(
                        "volume", volume, f"ephemeral disk of orphaned VM {owner}", orphan=vm_finding.orphan, note=note
                    )
                elif owner:
                    self._finding("volume", volume, f"ephemeral disk whose VM {owner} is gone")
                else:
                    self._finding("volume", volume, "ephemeral disk attached to no VM")
            elif role == "persistent-disk" and not attached:
                finding = self._finding("volume", volume, "detached persistent disk")
                if finding.orphan and not self.include_persistent:
                    finding.orphan = False
                    finding.note = (
                        "a director may still own it (stopped instance, orphaned disk); "
                        "--include-persistent-disks deletes it"
                    )

    def scan_snapshots(self) -> None:
        from cpi_framework.services.volumes import GONE_STATES

        live_volumes: dict[str, bool] = {}
        for snapshot in self._list("listSnapshots"):
            volume_id = str(snapshot.get("volumeid") or "")
            if snapshot.get("state") == "Error":
                self._finding("snapshot", snapshot, "snapshot ended in state Error")
                continue
            if volume_id not in live_volumes:
                volume = self._volume(volume_id) if volume_id else None
                live_volumes[volume_id] = volume is not None and volume.get("state") not in GONE_STATES
            if not live_volumes[volume_id]:
                self._finding("snapshot", snapshot, f"snapshot of deleted volume {volume_id or '(unknown)'}")

    def _volume(self, volume_id: str) -> dict[str, Any] | None:
        from cpi_framework.cloudstack import ApiError

        try:
            items = self.ctx.client.list("listVolumes", {"id": volume_id, "listall": True})
        except ApiError as exc:
            if exc.is_not_found:
                return None
            raise
        return next((v for v in items if v.get("id") == volume_id), None)

    def scan_templates(self) -> None:
        from cpi_framework.services.tags import tags_of
        from cpi_framework.services.templates import STEMCELL_CID_TAG, template_state

        templates = self._list("listTemplates", {"templatefilter": "self"})
        ids = {str(t.get("id")) for t in templates}
        ready_after = max(self.min_age, self.ctx.config.cloudstack.stemcell_publish_timeout * 60)
        seen: set[str] = set()
        for template in templates:
            template_id = str(template.get("id"))
            if template_id in seen:  # one row per zone: judged once
                continue
            seen.add(template_id)
            state = template_state(template)
            parent = tags_of(template).get(STEMCELL_CID_TAG)
            status = template.get("status") or "no status"
            if state == "error":
                self._finding("template", template, f"stemcell upload failed: {status}")
            elif state == "pending":
                age = age_seconds(template.get("created"))
                finding = self._finding("template", template, f"stemcell never became ready: {status}")
                if finding.orphan and (age or 0) < ready_after:
                    finding.orphan = False
                    finding.note = "may still be uploading (younger than stemcell_publish_timeout)"
            elif parent and parent != template_id and parent not in ids:
                self._finding("template", template, f"per-zone copy of deleted stemcell {parent}")

    # -- deleting ----------------------------------------------------------------------------

    def delete(self) -> int:
        """Delete the provable orphans (VMs first, they take their ephemeral disks); count failures."""
        failures = 0
        order = {kind: index for index, kind in enumerate(KINDS)}
        templates = []
        for finding in sorted(self.findings, key=lambda f: order[f.kind]):
            if not finding.orphan:
                continue
            if finding.kind == "template":
                templates.append(finding)
                continue
            try:
                finding.result = self._delete_one(finding)
            except Exception as exc:  # one failure must not stop the rest; each is reported
                finding.result = f"failed: {exc}"
                failures += 1
        if templates:
            from cpi_framework.services.templates import delete_templates

            try:
                delete_templates(self.ctx, [f.resource for f in templates])
                result = "deleted"
            except Exception as exc:  # reported per template
                result, failures = f"failed: {exc}", failures + len(templates)
            for finding in templates:
                finding.result = result
        return failures

    def _delete_one(self, finding: Finding) -> str:
        from cpi_framework.services import vms, volumes

        if finding.kind == "vm":
            current = vms.find_vm(self.ctx, finding.id)
            if current is None:
                return "already gone"
            if has_bosh_metadata(current):
                return "skipped: it got BOSH metadata meanwhile"
            vms.delete_vm_resources(self.ctx, current)
            return "deleted"
        if finding.kind == "volume":
            current = volumes.find_volume(self.ctx, finding.id)
            if current is None:
                return "already gone (with its VM)" if "orphaned VM" in finding.reason else "already gone"
            if finding.role == "persistent-disk" and current.get("virtualmachineid"):
                return "skipped: attached meanwhile"
            volumes.detach_volume(self.ctx, current)
            volumes.delete_volume(self.ctx, current)
            return "deleted"
        self.ctx.client.call_async(
            "deleteSnapshot", {"id": finding.id}, timeout=self.ctx.timeout("snapshot"), operation="snapshot"
        )
        return "deleted"


def has_bosh_metadata(resource: dict[str, Any]) -> bool:
    """Whether ``set_vm_metadata`` ever ran: the director (and ``create-env``) always sends both keys.

    Other tags prove nothing: ``create_vm`` itself copies ``env.bosh.tags`` onto the VM.
    """
    from cpi_framework.services.tags import tags_of

    tags = tags_of(resource)
    return all(key in tags for key in METADATA_KEYS)
