"""Asynchronous jobs: pending (0) -> succeeded (1) / failed (2).

A command's handler validates synchronously (parameter errors are immediate API errors,
as in the server's dispatch) and hands over a ``run`` closure that does the work when
the job executes.  Jobs execute lazily: every API request and every introspection call
first advances the jobs whose deadline passed, so a job with duration 0 has finished
before its ``jobid`` is even returned, and timing is deterministic for tests.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError
from .state import now_str

# Java class names reported in the ``cmd`` field (package prefixes as in 4.x).
_PKG = "org.apache.cloudstack.api.command.user."
CMD_CLASSES = {
    "deployVirtualMachine": "vm.DeployVMCmd", "destroyVirtualMachine": "vm.DestroyVMCmd",
    "expungeVirtualMachine": "vm.ExpungeVMCmd", "rebootVirtualMachine": "vm.RebootVMCmd",
    "startVirtualMachine": "vm.StartVMCmd", "stopVirtualMachine": "vm.StopVMCmd",
    "recoverVirtualMachine": "vm.RecoverVMCmd", "createVolume": "volume.CreateVolumeCmd",
    "attachVolume": "volume.AttachVolumeCmd", "detachVolume": "volume.DetachVolumeCmd",
    "resizeVolume": "volume.ResizeVolumeCmd", "changeOfferingForVolume": "volume.ChangeOfferingForVolumeCmd",
    "createSnapshot": "snapshot.CreateSnapshotCmd",
    "deleteSnapshot": "snapshot.DeleteSnapshotCmd", "createTags": "tag.CreateTagsCmd",
    "deleteTags": "tag.DeleteTagsCmd", "deleteTemplate": "template.DeleteTemplateCmd",
    "disableStaticNat": "nat.DisableStaticNatCmd", "createAffinityGroup": "affinitygroup.CreateAffinityGroupCmd",
    "deleteAffinityGroup": "affinitygroup.DeleteAffinityGroupCmd",
    "assignToLoadBalancerRule": "loadbalancer.AssignToLoadBalancerRuleCmd",
    "removeFromLoadBalancerRule": "loadbalancer.RemoveFromLoadBalancerRuleCmd",
    "associateIpAddress": "address.AssociateIPAddrCmd", "disassociateIpAddress": "address.DisassociateIPAddrCmd",
}


@dataclass
class Job:
    """One async job; ``run`` returns the ``jobresult`` object, ``on_fail`` undoes/marks state."""

    id: str
    command: str
    created: str
    deadline: float | None                      # monotonic time; None = hangs forever
    run: Callable[[], dict[str, Any]]
    on_fail: Callable[[ApiError], None] | None = None
    instance_type: str | None = None
    instance_id: str | None = None
    forced_error: ApiError | None = None
    status: int = 0
    resultcode: int = 0
    result: dict[str, Any] | None = None
    completed: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class JobManager:
    """Creates, advances and renders jobs.  Callers hold the state lock."""

    def __init__(self, account_id: str, user_id: str) -> None:
        self.jobs: dict[str, Job] = {}
        self.account_id = account_id
        self.user_id = user_id

    def submit(self, command: str, run: Callable[[], dict[str, Any]], duration: float | None,
               on_fail: Callable[[ApiError], None] | None = None, instance_type: str | None = None,
               instance_id: str | None = None, forced_error: ApiError | None = None) -> Job:
        deadline = None if duration is None else time.monotonic() + max(0.0, duration)
        job = Job(str(uuid.uuid4()), command, now_str(), deadline, run, on_fail, instance_type, instance_id,
                  forced_error)
        self.jobs[job.id] = job
        self.advance()
        return job

    def advance(self) -> None:
        now = time.monotonic()
        for job in list(self.jobs.values()):
            if job.status == 0 and job.deadline is not None and job.deadline <= now:
                self._execute(job)

    def pending_for(self, instance_id: str) -> Job | None:
        """A pending job touching an object (lists embed its jobid/jobstatus)."""
        for job in self.jobs.values():
            if job.status == 0 and job.instance_id == instance_id:
                return job
        return None

    def _execute(self, job: Job) -> None:
        try:
            if job.forced_error is not None:
                raise job.forced_error
            result = job.run()
        except ApiError as err:
            if job.on_fail is not None:
                job.on_fail(err)
            job.status, job.resultcode = 2, err.errorcode
            job.result = {"errorcode": err.errorcode, "errortext": err.errortext}
        except Exception as exc:  # noqa: BLE001 - an unexpected bug surfaces as the server's 530
            err = ApiError(530, f"Internal simulator error: {exc!r}", 4250)
            if job.on_fail is not None:
                job.on_fail(err)
            job.status, job.resultcode = 2, 530
            job.result = {"errorcode": 530, "errortext": err.errortext}
        else:
            job.status, job.resultcode, job.result = 1, 0, result
        job.completed = now_str()

    def view(self, job: Job) -> dict[str, Any]:
        """``AsyncJobResponse`` fields."""
        out: dict[str, Any] = {
            "accountid": self.account_id, "userid": self.user_id,
            "cmd": _PKG + CMD_CLASSES.get(job.command, f"{job.command}Cmd"),
            "jobstatus": job.status, "jobprocstatus": 0, "jobresultcode": job.resultcode,
        }
        if job.status != 0:
            out["jobresulttype"] = "object"
            out["jobresult"] = job.result
        if job.instance_type:
            out["jobinstancetype"] = job.instance_type
        if job.instance_id:
            out["jobinstanceid"] = job.instance_id
        out["created"] = job.created
        if job.completed:
            out["completed"] = job.completed
        out["jobid"] = job.id
        return out
