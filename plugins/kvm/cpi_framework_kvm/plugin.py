"""KVM plugin: the hooks for CloudStack zones whose hosts run KVM (libvirt/QEMU).

It targets OpenStack-format KVM stemcells (qcow2 images, ``virtio`` device resolution, a
ConfigDrive settings source then an HTTP one). The reasoning behind each answer - above all
why a disk hint carries both the virtio serial and a path - is in this plugin's README.
"""

from __future__ import annotations

from typing import Any

from cpi_framework.hookspecs import hookimpl
from cpi_framework.types import HypervisorSpec, TemplateParams, UserData

# CloudStack's KVM agent picks the disk bus from the OS type: names containing "Ubuntu" (and
# "Other PV", "Debian GNU/Linux", "CentOS"…) get virtio, "Other Linux" gets IDE - and IDE
# disks have no virtio serial for the agent to find.
OS_TYPE = "Other Ubuntu (64-bit)"
# BOSH's stemcell builder packs every non-vSphere image as `tar zcf stemcell/image root.img`;
# the OpenStack CPI unpacks it and uploads root.img (see README, "Image").
IMAGE_MEMBER = "root.img"
SERIAL_LENGTH = 20
CDROM_DEVICE_ID = 3


@hookimpl
def cpi_hypervisor() -> HypervisorSpec:
    return HypervisorSpec(
        name="kvm",
        cloudstack_type="KVM",
        stemcell_formats=("openstack-qcow2",),
        description="KVM zones; OpenStack-format qcow2 stemcells (virtio serial hints, ConfigDrive or HTTP)",
        defaults={
            "cloudstack.stemcell_os_type": OS_TYPE,
            "cloudstack.stemcell_requires_hvm": True,
        },
    )


@hookimpl
def cpi_template_params(stemcell: dict[str, Any], config: Any) -> TemplateParams:
    # Not keyed on container_format/disk_format: an OpenStack stemcell says `bare`/`qcow2`
    # for root.img as Glance stores it, while its `image` file is always the gzipped tarball.
    cloudstack = config.cloudstack
    requires_hvm = cloudstack.stemcell_requires_hvm
    return TemplateParams(
        format="QCOW2",
        file_suffix=".qcow2",
        os_type=cloudstack.stemcell_os_type or OS_TYPE,
        requires_hvm=True if requires_hvm is None else bool(requires_hvm),
        image_member=IMAGE_MEMBER,
    )


def virtio_serial(volume_id: str) -> str:
    """The serial CloudStack gives the disk (``diskUuidToSerial``): UUID without dashes, 20 chars."""
    return volume_id.replace("-", "")[:SERIAL_LENGTH]


def guest_path(deviceid: Any) -> str:
    """The name the guest most likely gives the disk: virtio disks are named in probe order.

    Device id 3 is CloudStack's CD-ROM, which is not a virtio disk, so device ids above it
    come one letter earlier in the guest than in libvirt's ``target dev`` (4 → ``vdd``).
    Exact while disks are attached in CloudStack's lowest-free order (the kernel also reuses
    the lowest free index); the serial in ``id`` is what stays right in every case.
    """
    index = int(deviceid)
    if index < 0:
        raise ValueError(f"negative device id {deviceid!r}")
    if index > CDROM_DEVICE_ID:
        index -= 1
    return "/dev/vd" + _letters(index)


def _letters(index: int) -> str:
    """Linux's disk naming: a…z, aa…az, ba… (``sd_format_disk_name``)."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(ord("a") + rest) + name
    return name


@hookimpl
def cpi_disk_hint(volume: dict[str, Any], vm: dict[str, Any], role: str) -> str | dict[str, str]:
    if role == "system":
        return "/dev/vda"
    deviceid = volume.get("deviceid")
    if deviceid is None:
        raise ValueError(f"volume {volume.get('id')} has no deviceid: is it attached?")
    return {"id": virtio_serial(str(volume["id"])), "path": guest_path(deviceid)}


def uses_config_drive(vm: dict[str, Any]) -> bool:
    """True when one of the VM's networks offers UserData through CloudStack's ConfigDrive provider."""
    for network in vm.get("networks") or []:
        for service in network.get("service") or []:
            if service.get("name") != "UserData":
                continue
            if any(provider.get("name") == "ConfigDrive" for provider in service.get("provider") or []):
                return True
    return False


@hookimpl
def cpi_user_data(settings: dict[str, Any], vm: dict[str, Any]) -> UserData:
    # The ConfigDrive source unmarshals the file straight into the agent's Settings, and the
    # HTTP source reads the settings at the top level: one JSON document serves both.
    delivery = "configdrive" if uses_config_drive(vm) else "userdata"
    return UserData.json(settings, delivery=delivery)
