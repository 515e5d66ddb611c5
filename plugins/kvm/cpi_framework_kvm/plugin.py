"""KVM plugin: the hooks for CloudStack zones whose hosts run KVM (libvirt/QEMU).

It targets OpenStack-format KVM stemcells (qcow2 images, ``virtio`` device resolution, a
ConfigDrive settings source then an HTTP one). The reasoning behind each answer - above all
why a disk hint carries both the virtio serial and a path - is in this plugin's README.
"""

from __future__ import annotations

from typing import Any

from cpi_framework.hookspecs import hookimpl
from cpi_framework.types import HypervisorSpec, TemplateParams, UserData

# CloudStack's KVM agent picks the root disk's bus from the OS type (root_disk_bus below); the
# hints need virtio-blk disks, whose by-id links carry CloudStack's serial.
OS_TYPE = "Other Ubuntu (64-bit)"
VIRTIO_OS_PREFIXES = ("Fedora", "CentOS", "Red Hat Enterprise Linux", "Debian GNU/Linux", "FreeBSD", "Oracle",
                      "Other PV")
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


def root_disk_bus(os_type: str) -> str:
    """The bus CloudStack's KVM agent gives the root disk of a VM of this OS type.

    ``LibvirtComputingResource.getGuestDiskModel`` (apache/cloudstack 4.18-4.20, x86, BIOS):
    ``Other PV Virtio-SCSI…`` → scsi; containing ``Ubuntu`` or starting with Fedora, CentOS,
    Red Hat Enterprise Linux, Debian GNU/Linux, FreeBSD, Oracle, ``Other PV`` → virtio; the rest
    (``Other Linux``) → ide. The agent reads the KVM guest-OS mapping of the type, which keeps
    these words for the stock types; a ``rootDiskController`` VM or template detail overrides it.
    """
    if os_type.startswith("Other PV Virtio-SCSI"):
        return "scsi"
    if "Ubuntu" in os_type or os_type.startswith(VIRTIO_OS_PREFIXES):
        return "virtio"
    return "ide"


@hookimpl
def cpi_guest_warnings(os_type: str, userdata_providers: list[str]) -> list[tuple[str, str]]:
    warnings: list[tuple[str, str]] = []
    fix_os = (f"set cloudstack.stemcell_os_type to an OS type whose name contains 'Ubuntu' (the default "
              f"'{OS_TYPE}'), or give the templates a rootDiskController=virtio detail")
    bus = root_disk_bus(os_type) if os_type else "virtio"
    if bus == "scsi":
        warnings.append((f"OS type '{os_type}' gives every disk a virtio-scsi bus on KVM: udev names them "
                         "scsi-0QEMU_QEMU_HARDDISK_<serial>, and the disk hints' /dev/disk/by-id/virtio-<serial> "
                         "paths never resolve", fix_os))
    elif bus == "ide":
        warnings.append((f"OS type '{os_type}' gives the root disk an IDE bus on KVM: data disks stay virtio on "
                         "file-based primary storage, but on RBD or Gluster storage the disks defined at VM start "
                         "take IDE too, with no /dev/disk/by-id/virtio-<serial> link, and the agent cannot find "
                         "them", fix_os))
    if "ConfigDrive" in userdata_providers:
        warnings.append(("on ConfigDrive networks CloudStack writes the settings to openstack/latest/user_data; the "
                         "OpenStack stemcell's agent reads ec2/latest/user-data from the drive and then asks "
                         "http://169.254.169.254, so it finds no settings",
                         "use a stemcell whose agent.json ConfigDrive source has UserDataPath "
                         "openstack/latest/user_data (docs/stemcells.md), or a VirtualRouter UserData network"))
    if "VirtualRouter" in userdata_providers:
        warnings.append(("on VirtualRouter networks the settings are served by the virtual router at its own "
                         "address; the OpenStack stemcell's agent asks http://169.254.169.254/latest/user-data",
                         "fine if 169.254.169.254 reaches the router in your cloud (a metadata proxy such as the "
                         "CloudStack stemcell's mdproxy4cs); otherwise use a ConfigDrive network and a stemcell "
                         "that reads openstack/latest/user_data (docs/stemcells.md)"))
    return warnings
