"""``create_vm`` step by step, with a ledger of what was created so a failure removes all of it.

Flow (why each step is where it is):

1. validate cloud_properties and networks (bad input fails before anything exists);
2. resolve zone (AZ ``zone``, or the persistent disks' zone), offering, template, networks;
   find or create affinity groups;
3. ``deployVirtualMachine`` with ``startvm=false`` (and the ephemeral disk, step 5): CloudStack
   picks each NIC's MAC at deploy time and the agent needs every network's ``mac``, so settings
   can only be written once the NICs exist. (Choosing MACs ourselves through
   ``iptonetworklist[].mac`` would save two calls but risks collisions with the cloud's own MAC
   allocation and is refused by some clouds);
4. ownership tags (+ ``env.bosh.tags``) on the VM and its ephemeral disk, submitted while the
   deploy job runs and waited for with it;
5. the ephemeral volume (``disk`` MB) comes with the deploy itself (``diskofferingid`` + ``size``):
   the server allocates it as ``DATA-<n>`` at device id 1 in the deploy's create phase
   (``VirtualMachineManagerImpl.allocate`` -> ``VolumeOrchestrator.allocateRawVolume``), so it is
   listed, and tagged as ours, while the deploy job runs; its device id is known for
   ``disks.ephemeral`` before start and no hot-plug (XenServer PV drivers) is needed. (A separate
   createVolume + attachVolume did the same with four more requests and two more job waits.);
6. settings → plugin hooks → ``updateVirtualMachine userdata`` (POST), registry if legacy;
7. ``startVirtualMachine``; then static NAT for a vip network and load-balancer membership.

Any failure after step 3 runs the full ``delete_vm`` path on the VM, deletes every volume and
affinity group this call created and the registry entry it wrote, then raises
``VMCreationFailed`` (``ok_to_retry`` for transient causes only). The deploy parameters and the
user-data size pre-check, which create nothing, are in :mod:`cpi_framework.vm_params`.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any, NoReturn

from cpi_framework import agent_settings, vm_params
from cpi_framework import networks as net
from cpi_framework.cloud_properties import load_networks, load_vm_type
from cpi_framework.errors import BoshError, CloudError, CpiError, VMCreationFailed, is_transient
from cpi_framework.services import catalog, placement, registry, tags
from cpi_framework.services import vms as vm_service

if TYPE_CHECKING:
    from cpi_framework.context import CallContext

MAX_CREATE_DELAY = 300.0


class VmBuild:
    """One ``create_vm`` call: the steps and the ledger of created resources."""

    def __init__(self, ctx: CallContext) -> None:
        self.ctx = ctx
        self.hostname = f"vm-{uuid.uuid4()}"
        self.deploy_attempted = False
        self.vm_id: str | None = None
        self.volumes: list[dict[str, Any]] = []
        self.groups: list[dict[str, Any]] = []
        self.registry_written = False
        self.wants_ephemeral = False

    # -- the whole call ---------------------------------------------------------------------------

    def run(
        self,
        agent_id: str,
        stemcell_cid: str,
        cloud_properties: dict[str, Any],
        networks: dict[str, Any],
        disk_cids: list[str] | None,
        env: dict[str, Any] | None,
    ) -> tuple[str, dict[str, Any]]:
        ctx = self.ctx
        vm_type = load_vm_type(ctx, cloud_properties)
        nets = load_networks(ctx, networks)
        if not vm_type["compute_offering"]:
            raise CpiError("Invalid VM cloud_properties: 'compute_offering' is required (a CloudStack compute "
                           "offering name or id)")
        unknown_routes = sorted(set(vm_type.get("routes") or {}) - set(nets))
        if unknown_routes:
            raise CpiError(f"Invalid VM cloud_properties: routes name unknown network(s) {', '.join(unknown_routes)} "
                           f"(networks: {', '.join(sorted(nets))})")
        if env is not None and not isinstance(env, dict):
            raise CpiError(f"Invalid env: expected an object or null, got {type(env).__name__}")
        ephemeral_offering = vm_params.ephemeral_offering(ctx, vm_type)
        use_registry = registry.registry_mode(ctx)
        if use_registry:
            registry.require_registry(ctx)
        try:
            return self._create(agent_id, stemcell_cid, vm_type, nets, disk_cids, env, ephemeral_offering,
                                use_registry)
        except CpiError as exc:
            if not self.deploy_attempted:
                self.cleanup()  # affinity groups made before the bad input showed
                raise
            self._fail(exc)
        except Exception as exc:
            self._fail(exc)

    def _create(
        self,
        agent_id: str,
        stemcell_cid: str,
        vm_type: dict[str, Any],
        nets: dict[str, dict[str, Any]],
        disk_cids: list[str] | None,
        env: dict[str, Any] | None,
        ephemeral_offering: str | None,
        use_registry: bool,
    ) -> tuple[str, dict[str, Any]]:
        from cpi_framework.services import templates

        ctx = self.ctx
        zone, _disks = placement.resolve_zone(ctx, vm_type.get("zone"), disk_cids)
        zone_id = str(zone["id"])
        offering = self._offering(vm_type)
        template = templates.get_template(ctx, stemcell_cid, zone_id)
        nics = net.plan_nics(ctx, zone_id, nets)
        vm_params.check_settings_size(ctx, self.hostname, agent_id, vm_type, nets, nics, env, ephemeral_offering,
                                      use_registry)
        params = vm_params.deploy_params(ctx, self.hostname, zone_id, offering, template, vm_type, nics)
        if ephemeral_offering:
            params.update(vm_params.ephemeral_params(ctx, ephemeral_offering, int(vm_type["disk"])))
            self.wants_ephemeral = True
        group_ids = placement.affinity_group_ids(ctx, vm_type, env, self.groups)
        if group_ids:
            params["affinitygroupids"] = ",".join(group_ids)
        ctx.plugins.deploy_params(params, vm_type)
        if not params.get("details"):
            params.pop("details", None)

        bosh_tags = ((env or {}).get("bosh") or {}).get("tags") if isinstance((env or {}).get("bosh"), dict) else None
        own = {**tags.stringify_metadata(bosh_tags if isinstance(bosh_tags, dict) else {}),
               **tags.cpi_tags(ctx, "vm")}
        vm, disks = self._deploy(params, own, with_ephemeral=bool(ephemeral_offering))
        vm_id = self.vm_id = str(vm["id"])

        ephemeral_hint = None
        if ephemeral_offering:
            ephemeral_hint = ctx.plugins.disk_hint(disks["ephemeral"], vm, "ephemeral")
        system_hint = ctx.plugins.disk_hint(disks["root"], vm, "system")

        settings = agent_settings.build_settings(
            ctx, agent_id=agent_id, vm=vm, system_hint=system_hint, ephemeral_hint=ephemeral_hint, env=env,
            networks=net.settings_networks(ctx, vm, nics, nets, vm_type.get("routes") or {}),
        )
        self._deliver_settings(vm, nics, settings, use_registry)
        self._start(vm_id)
        for name, spec in nets.items():
            if spec["type"] == "vip":
                net.attach_vip(ctx, vm, zone_id, name, spec)
        if vm_type.get("lbs"):
            net.join_load_balancers(ctx, vm, zone_id, vm_type["lbs"])
        vm_service.forget_vm(ctx, vm_id)
        ctx.log.info("created VM %s (%s) for agent %s in zone %s", vm_id, self.hostname, agent_id, zone.get("name"))
        return vm_id, settings["networks"]

    # -- steps ---------------------------------------------------------------------------------

    def _offering(self, vm_type: dict[str, Any]) -> dict[str, Any]:
        name = vm_type["compute_offering"]
        try:
            return catalog.service_offering(self.ctx, name)
        except CloudError as exc:
            raise CloudError(f"cloud_properties.compute_offering = '{name}': {exc.message}") from None

    def _deploy(self, params: dict[str, Any], own_tags: dict[str, str], *,
                with_ephemeral: bool) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """Deploy (stopped) and tag the VM and its ephemeral disk; returns the VM and its disks by role.

        The deploy's create phase allocates the VM and its volumes before the job id comes back,
        so the volumes are listed and both tag jobs submitted at once, and all three jobs are
        waited for together: tagging adds requests but no pause. The ephemeral volume joins the
        ledger as soon as it is seen, so a failure from here on removes it too.
        """
        from cpi_framework.cloudstack import AsyncJobFailed, AsyncJobTimeout, CloudStackError

        ctx = self.ctx
        self.deploy_attempted = True
        job = ctx.client.submit("deployVirtualMachine", params)
        self.vm_id = job.object_id
        jobs = [job]
        disks: dict[str, dict[str, Any]] = {}
        if job.object_id:
            try:
                jobs += self._tag_jobs(job.object_id, own_tags, disks, with_ephemeral)
            except Exception:
                # let the deploy finish before the cleanup destroys what it is still building
                ctx.client.wait_all([job], timeout=ctx.timeout("create_vm"), operation="create_vm")
                raise
        try:
            results = ctx.client.wait_all(jobs, timeout=ctx.timeout("create_vm"), operation="create_vm")
            for outcome in results:
                if isinstance(outcome, CloudStackError):
                    raise outcome
        except (AsyncJobFailed, AsyncJobTimeout) as exc:
            self.vm_id = self.vm_id or getattr(exc, "object_id", None)
            raise
        result = results[0]
        vm = result.get("virtualmachine", result)
        if not job.object_id:  # a server that answers without the id: list and tag after the job
            self.vm_id = str(vm["id"])
            tag_jobs = self._tag_jobs(self.vm_id, own_tags, disks, with_ephemeral)
            for outcome in ctx.client.wait_all(tag_jobs, timeout=ctx.timeout("default"), operation="tags"):
                if isinstance(outcome, CloudStackError):
                    raise outcome
        self.vm_id = str(vm["id"])
        return vm, disks

    def _tag_jobs(self, vm_id: str, own_tags: dict[str, str], disks: dict[str, dict[str, Any]],
                  with_ephemeral: bool) -> list[Any]:
        """List the new VM's volumes into ``disks`` and submit the VM's and the ephemeral disk's tags."""
        from cpi_framework.services import volumes

        ctx = self.ctx
        found = volumes.volumes_of_vm(ctx, vm_id)
        root = next((v for v in found if v.get("type") == "ROOT"), None)
        if root is None:
            raise CloudError(f"VM {vm_id} has no ROOT volume")
        disks["root"] = root
        if with_ephemeral:
            data = [v for v in found if v.get("type") == "DATADISK"]
            self.volumes.extend(v for v in data if v not in self.volumes)
            if len(data) != 1:
                raise CloudError(f"deployVirtualMachine with an ephemeral disk gave VM {vm_id} {len(data)} data "
                                 "volumes, expected 1")
            disks["ephemeral"] = data[0]
        jobs = []
        if with_ephemeral:
            # the disk's tags first: should this process die between the two submissions, the VM
            # (untagged) is reported by ``orphans`` and its disk, tagged with the VM's id, becomes
            # a provable orphan once the VM is gone - never an untagged, unreported volume
            ephemeral = disks["ephemeral"]
            ephemeral_tags = {vm_service.VM_ID_TAG: vm_id, **tags.cpi_tags(ctx, "ephemeral-disk")}
            jobs.append(tags.submit_tags(ctx, "Volume", [str(ephemeral["id"])], ephemeral_tags))
            ctx.log.info("ephemeral disk %s (%s GB) allocated with VM %s", ephemeral["id"],
                         volumes.volume_gb(ephemeral), vm_id)
        jobs.append(tags.submit_tags(ctx, "UserVm", [vm_id], own_tags))
        return [j for j in jobs if j is not None]

    def _deliver_settings(self, vm: dict[str, Any], nics: list[net.Nic], settings: dict[str, Any],
                          use_registry: bool) -> None:
        ctx = self.ctx
        document = settings
        if use_registry:
            registry.write_settings(ctx, str(vm["id"]), settings)
            self.registry_written = True
            document = agent_settings.add_registry_pointer(ctx, settings, vm)
        user_data = ctx.plugins.user_data(document, {**vm, "networks": [n.network for n in nics]})
        if user_data.delivery == "registry" and not self.registry_written:
            registry.require_registry(ctx)
            registry.write_settings(ctx, str(vm["id"]), settings)
            self.registry_written = True
        encoded = agent_settings.encode_user_data(user_data, ctx.config.cloudstack.user_data_max_length)
        ctx.client.call("updateVirtualMachine", {"id": vm["id"], "userdata": encoded}, post=True)

    def _start(self, vm_id: str) -> None:
        ctx = self.ctx
        result = ctx.client.call_async("startVirtualMachine", {"id": vm_id}, timeout=ctx.timeout("create_vm"),
                                       operation="create_vm")
        state = (result.get("virtualmachine") or result).get("state")
        if state and state != "Running":
            raise CloudError(f"startVirtualMachine: VM {vm_id} is {state}, not Running")
        delay = min(float(ctx.config.cpi.vm_create_delay), MAX_CREATE_DELAY)
        if delay > 0:
            ctx.log.info("waiting %ss after start (cpi.vm_create_delay)", delay)
            time.sleep(delay)

    # -- failure --------------------------------------------------------------------------------

    def _fail(self, exc: BaseException) -> NoReturn:
        problems = self.cleanup()
        retry = _transient(exc)
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        if not isinstance(exc, CloudError | CpiError) and not type(exc).__module__.startswith("cpi_framework"):
            message = f"{type(exc).__name__}: {message}"
        text = f"VM creation failed: {message}"
        if problems:
            text += "; cleanup left: " + "; ".join(problems)
        elif self.deploy_attempted:
            text += " (everything this call created was removed)"
        raise VMCreationFailed(text, ok_to_retry=retry) from exc

    def _ledger_deploy_volumes(self, vm_id: str) -> None:
        """Add the data volume the deploy made (``DATA-<n>``) when a failure came before it was listed.

        Untagged, it would not count as the VM's ephemeral disk and the destroy would leave it
        detached. This call attached no other disk, so a ``DATA-`` data volume of its VM is the
        deploy's own.
        """
        from cpi_framework.services import volumes

        if not self.wants_ephemeral or any(v.get("type") == "DATADISK" for v in self.volumes):
            return
        self.volumes.extend(v for v in volumes.volumes_of_vm(self.ctx, vm_id, type="DATADISK")
                            if str(v.get("name") or "").startswith("DATA-"))

    def cleanup(self) -> list[str]:
        """Remove what this call created; returns what could not be removed (never raises)."""
        from cpi_framework.services import volumes

        ctx = self.ctx
        problems: list[str] = []
        vm = None
        try:
            if self.vm_id:
                vm_service.forget_vm(ctx, self.vm_id)
                vm = vm_service.find_vm(ctx, self.vm_id)
            elif self.deploy_attempted:
                found = ctx.client.find_by_name("listVirtualMachines", self.hostname)
                vm = next((v for v in found if v.get("state") not in vm_service.ABSENT_STATES), None)
            if vm is not None:
                self._ledger_deploy_volumes(str(vm["id"]))
                vm_service.delete_vm_resources(ctx, vm)
        except Exception as exc:  # noqa: BLE001 - report, keep cleaning
            problems.append(f"VM {self.vm_id or self.hostname}: {exc}")
        for volume in self.volumes:
            try:
                if volumes.find_volume(ctx, str(volume["id"])) is not None:
                    volumes.delete_volume(ctx, volume)
            except Exception as exc:  # noqa: BLE001
                problems.append(f"volume {volume.get('id')}: {exc}")
        try:
            placement.delete_affinity_groups(ctx, self.groups)
        except Exception as exc:  # noqa: BLE001
            problems.append(f"affinity groups: {exc}")
        if self.registry_written and self.vm_id:
            try:
                registry.delete_settings(ctx, self.vm_id)
            except Exception as exc:  # noqa: BLE001
                problems.append(f"registry entry: {exc}")
        for problem in problems:
            ctx.log.error("cleanup after failed create_vm: %s", problem)
        return problems


def _transient(exc: BaseException) -> bool:
    """Worth an identical retry: a transient CloudStack cause anywhere in the chain (capacity,
    timeouts, throttling), or a typed error that says so; never bad parameters."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if is_transient(seen) or (isinstance(seen, BoshError) and not isinstance(seen, CpiError) and seen.ok_to_retry):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
