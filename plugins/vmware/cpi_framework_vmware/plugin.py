"""VMware plugin: the hooks for CloudStack zones whose clusters run vSphere/ESXi.

It targets CloudStack-built VMware stemcells (``cloudstack-ova``): an OVA whose agent reads
settings from the HTTP metadata source (as the CloudStack Xen stemcell does) and resolves
disks with the ``scsi`` resolver, which finds ``/sys/bus/scsi/devices/<host>:0:<volume_id>:0``
after rescanning the root disk's SCSI host. Data disks therefore have to sit on a SCSI
controller, and the hint carries the SCSI target (unit) number as ``volume_id``.
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from cpi_framework.hookspecs import hookimpl
from cpi_framework.types import HypervisorSpec, TemplateParams, UserData

OS_TYPE = "Other Ubuntu (64-bit)"
SCSI_CONTROLLERS = ("scsi", "pvscsi", "lsilogic", "lsisas1068", "buslogic")
ROOT_CONTROLLERS = (*SCSI_CONTROLLERS, "ide", "osdefault")
CDROM_DEVICE_ID = 3  # CloudStack's CD-ROM (on the IDE controller in VMware: no SCSI unit)
CONTROLLER_UNIT = 7  # the SCSI controller's own unit number: vSphere never gives it to a disk


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
    cloudstack = config.cloudstack
    requires_hvm = cloudstack.stemcell_requires_hvm
    return TemplateParams(
        format="OVA",
        file_suffix=".ova",
        os_type=cloudstack.stemcell_os_type or OS_TYPE,
        requires_hvm=True if requires_hvm is None else bool(requires_hvm),
    )


def scsi_unit(deviceid: Any) -> int:
    """The SCSI unit number a data disk gets for CloudStack's device id.

    vSphere gives each new disk the lowest free unit on the controller, skipping unit 7 (the
    controller itself); CloudStack gives the lowest free device id, skipping 3 (the CD-ROM,
    which is not on the SCSI controller). Both count from the root disk at 0, so the two
    sequences stay in step: 1→1, 2→2, 4→3, 5→4, …, 8→7 becomes 8.
    """
    index = int(deviceid)
    if index < 0:
        raise ValueError(f"negative device id {deviceid!r}")
    unit = index - 1 if index > CDROM_DEVICE_ID else index
    return unit + 1 if unit >= CONTROLLER_UNIT else unit


@hookimpl
def cpi_disk_hint(volume: dict[str, Any], vm: dict[str, Any], role: str) -> str | dict[str, str]:
    if role == "system":
        return "/dev/sda"
    deviceid = volume.get("deviceid")
    if deviceid is None:
        raise ValueError(f"volume {volume.get('id')} has no deviceid: is it attached?")
    return {"volume_id": str(scsi_unit(deviceid))}


@hookimpl
def cpi_vm_type_schema() -> dict[str, fields.Field]:
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
