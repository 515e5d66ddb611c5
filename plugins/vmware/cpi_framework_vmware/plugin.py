"""VMware plugin: the hooks for CloudStack zones whose clusters run vSphere/ESXi.

It targets CloudStack-built VMware stemcells (``cloudstack-ova``): an OVA whose agent reads
settings from the HTTP metadata source (as the CloudStack Xen stemcell does) and resolves
disks with the ``scsi`` resolver, which finds ``/sys/bus/scsi/devices/<host>:0:<volume_id>:0``
after rescanning the root disk's SCSI host. Data disks therefore have to sit on a SCSI
controller, and the hint carries the SCSI target (unit) number as ``volume_id``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cpi_framework.errors import CpiError
from cpi_framework.hookspecs import hookimpl
from cpi_framework.types import HypervisorSpec, TemplateParams, UserData

if TYPE_CHECKING:
    from marshmallow import fields

OS_TYPE = "Other Ubuntu (64-bit)"
SCSI_CONTROLLERS = ("scsi", "pvscsi", "lsilogic", "lsisas1068", "buslogic")
ROOT_CONTROLLERS = (*SCSI_CONTROLLERS, "ide", "osdefault")
CDROM_DEVICE_ID = 3  # CloudStack's CD-ROM (on the IDE controller in VMware: no SCSI unit)
CONTROLLER_UNIT = 7  # the SCSI controller's own unit number: vSphere never gives it to a disk
# stemcell.MF cloud_properties key naming the agent.json DevicePathResolutionType (docs/stemcells.md)
RESOLUTION_PROPERTY = "device_path_resolution_type"


@hookimpl
def cpi_hypervisor() -> HypervisorSpec:
    return HypervisorSpec(
        name="vmware",
        cloudstack_type="VMware",
        stemcell_formats=("cloudstack-ova",),
        description="VMware zones; CloudStack-built OVA stemcells (SCSI hints, HTTP metadata)",
        defaults={
            "cloudstack.stemcell_os_type": OS_TYPE,
            "cloudstack.stemcell_requires_hvm": True,
        },
    )


@hookimpl
def cpi_template_params(stemcell: dict[str, Any], config: Any) -> TemplateParams:
    resolution = stemcell.get(RESOLUTION_PROPERTY)
    if resolution is not None and str(resolution).strip().lower() != "scsi":
        raise CpiError(
            f"Stemcell {stemcell.get('name', 'stemcell')}/{stemcell.get('version', '?')} says {RESOLUTION_PROPERTY} "
            f"'{resolution}': the vmware plugin's disk hints carry the disk's SCSI unit as volume_id, which only the "
            "agent's 'scsi' resolver reads (under 'virtio' a volume_id-only hint fails with \"path is missing\"); "
            "build the stemcell with DevicePathResolutionType 'scsi' in its agent.json (docs/stemcells.md)")
    cloudstack = config.cloudstack
    requires_hvm = cloudstack.stemcell_requires_hvm
    return TemplateParams(
        format="OVA",
        file_suffix=".ova",
        os_type=cloudstack.stemcell_os_type or OS_TYPE,
        requires_hvm=True if requires_hvm is None else bool(requires_hvm),
    )


def scsi_unit(deviceid: Any, root_on_ide: bool = False) -> int:
    """The SCSI unit number a data disk gets for CloudStack's device id.

    At start CloudStack lays the disks out in device-id order on the SCSI controller, units
    0, 1, 2… skipping 7, the controller's own (``StartCommandExecutor``/``VmwareResource`` start);
    vSphere gives a hot-plugged disk the lowest free unit, skipping 7; CloudStack gives the lowest
    free device id, skipping 3 (the CD-ROM, on the IDE controller). So the two sequences stay in
    step. With a SCSI root the root takes unit 0 and data disks count from 1 (1→1, 2→2, 4→3, …,
    7→6, 8→8); with ``rootDiskController=ide`` the root is on IDE and data disks count from 0
    (1→0, 2→1, 4→2, …, 8→6, 9→8).
    """
    index = int(deviceid)
    if index <= 0:
        raise ValueError(f"device id {deviceid!r} is not a data disk's")
    position = index - 2 if index > CDROM_DEVICE_ID else index - 1  # 0 for the first data disk
    unit = position if root_on_ide else position + 1
    return unit + 1 if unit >= CONTROLLER_UNIT else unit


def root_on_ide(vm: dict[str, Any]) -> bool:
    """Whether the VM's root disk sits on the IDE controller: its ``rootDiskController`` detail.

    ``listVirtualMachines`` and the deploy job answer the VM's details (``UserVmJoinDaoImpl``: all
    but ``user.vm.blacklisted.details`` on current servers; only ``hypervisortoolsversion`` on old
    ones). Without the detail the root is taken to be on SCSI, the plugin's default.
    """
    details = vm.get("details") or {}
    value = next((v for k, v in details.items() if str(k).lower() == "rootdiskcontroller"), "")
    return str(value).strip().lower() == "ide"


@hookimpl
def cpi_disk_hint(volume: dict[str, Any], vm: dict[str, Any], role: str) -> str | dict[str, str]:
    if role == "system":
        return "/dev/sda"
    deviceid = volume.get("deviceid")
    if deviceid is None:
        raise ValueError(f"volume {volume.get('id')} has no deviceid: is it attached?")
    return {"volume_id": str(scsi_unit(deviceid, root_on_ide(vm)))}


@hookimpl
def cpi_vm_type_schema() -> dict[str, fields.Field]:
    from marshmallow import fields, validate  # here: every call imports the plugin, few build VM properties

    return {
        "root_disk_controller": fields.String(
            load_default="scsi",
            validate=validate.OneOf(ROOT_CONTROLLERS),
            metadata={"description": "VMware controller of the root disk (rootDiskController)"},
        ),
        "data_disk_controller": fields.String(
            load_default=None,
            allow_none=True,
            validate=validate.OneOf(SCSI_CONTROLLERS),
            metadata={"description": "SCSI controller type of data disks (dataDiskController); "
                      "defaults to the root controller when that is SCSI, else scsi"},
        ),
    }


@hookimpl
def cpi_deploy_params(params: dict[str, Any], vm_type: dict[str, Any]) -> None:
    root = vm_type.get("root_disk_controller") or "scsi"
    data = vm_type.get("data_disk_controller") or (root if root in SCSI_CONTROLLERS else "scsi")
    details = params.setdefault("details", {})
    details.setdefault("rootDiskController", root)
    details.setdefault("dataDiskController", data)


@hookimpl
def cpi_user_data(settings: dict[str, Any], vm: dict[str, Any]) -> UserData:
    # Current agents need only the settings, at the top level of the JSON document.
    return UserData.json(settings)


@hookimpl
def cpi_guest_warnings(os_type: str, userdata_providers: list[str]) -> list[tuple[str, str]]:
    # The stemcell this plugin needs reads the HTTP metadata source, as the CloudStack stemcell
    # does (docs/stemcells.md): it reads no config drive.
    if "ConfigDrive" in userdata_providers:
        return [("the VMware stemcell this plugin needs reads its settings over HTTP from the virtual router; "
                 "on a ConfigDrive network its agent finds no settings",
                 "use networks whose UserData provider is VirtualRouter")]
    return []
