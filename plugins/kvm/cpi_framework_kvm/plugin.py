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
BY_ID_PREFIX = "/dev/disk/by-id/virtio-"


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


def by_id_path(volume_id: str) -> str:
    """The udev link to a virtio-blk disk: ``/dev/disk/by-id/virtio-<serial>``.

    It names the disk by CloudStack's serial, so it stays right whatever name the guest kernel
    gave the disk: after a reboot with gaps in the device ids, after a detach and re-attach. The
    agent's virtio resolver first globs ``/dev/disk/by-id/*<disk CID>`` (a dashed UUID, never the
    serial) and then resolves the hint's ``path`` with the mapped resolver, which follows the link
    (bosh-agent ``mappedDevicePathResolver.findPossibleDevice``, since 2018).
    """
    return BY_ID_PREFIX + virtio_serial(volume_id)


@hookimpl
def cpi_disk_hint(volume: dict[str, Any], vm: dict[str, Any], role: str) -> str | dict[str, str]:
    if role == "system":
        return "/dev/vda"
    if volume.get("deviceid") is None:
        raise ValueError(f"volume {volume.get('id')} has no deviceid: is it attached?")
    return {"id": virtio_serial(str(volume["id"])), "path": by_id_path(str(volume["id"]))}


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
