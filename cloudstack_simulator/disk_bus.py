"""Where each disk sits in the guest: the hypervisor's bus and SCSI unit, the kernel's names.

The rules come from the server's hypervisor resources (apache/cloudstack, read at 4.18-4.20):

* **KVM** (``LibvirtComputingResource``). The root disk's bus is the VM's ``rootDiskController``
  detail, else ``getGuestDiskModel(platformEmulator)``: ``Other PV Virtio-SCSI`` → SCSI; names
  containing ``Ubuntu`` or starting with Fedora, CentOS, Red Hat Enterprise Linux, Debian
  GNU/Linux, FreeBSD, Oracle or ``Other PV`` → virtio; anything else (``Other Linux``) → IDE.
  Disks defined at start (``createVbd``, sorted by device id) take ``dataDiskController``, else
  SCSI when the root is SCSI, else virtio - except on RBD and Gluster pools, where they take the
  root's bus. Hot-plugged disks (``attachOrDetachDisk``) are virtio unless the domain's first
  disk is SCSI. Every volume gets ``<serial>`` = ``diskUuidToSerial`` (dash-less UUID, 20
  characters). The platform emulator is modelled as the OS type's description (the real one is
  the KVM guest-OS mapping of that type, which keeps these words for the stock types).
  ``rebootVM`` is an ACPI reboot of the same domain (PCI slots kept); a start defines the domain
  anew from the disks in device-id order.
* **VMware** (``StartCommandExecutor``/``VmwareResource`` start): disks sorted by device id;
  the ones on the SCSI controller get units 0, 1, 2… skipping 7 (``isReservedScsiDeviceNumber``),
  so with ``rootDiskController=ide`` the first data disk is SCSI unit 0 and with a SCSI root it is
  unit 1. A start of an existing VM tears the disks down and lays them out again this way; a
  reboot (``rebootGuest``) keeps them. A hot-plugged disk gets the lowest free unit, skipping 7
  (``VirtualMachineMO.getNextDeviceNumber``: this one not re-read here). ``osdefault`` or no
  detail is SCSI for the Linux types the simulator knows.

The guest kernel names disks per driver: virtio-blk ``vd*``, everything through the SCSI layer
(IDE and SATA via libata, virtio-scsi, VMware SCSI) ``sd*``. At boot it names them in probe order
(the IDE/SATA ports of the built-in ``ata_piix``/``ahci`` first, then PCI slot order); a hot-plugged
disk gets the lowest free name (``ida`` allocation in ``virtio_blk``/``sd``). The PCI slot of a
hot-plugged KVM disk is the next one after those in use (libvirt allocates from its last address;
not checked against a particular libvirt version): ``Volume.attach_order`` stands for it.
"""

from __future__ import annotations

from . import models as m
from .state import State

SCSI_RESERVED_UNIT = 7  # the controller's own unit
VIRTIO_PREFIXES = ("Fedora", "CentOS", "Red Hat Enterprise Linux", "Debian GNU/Linux", "FreeBSD", "Oracle",
                   "Other PV")
ATA_BUSES = ("ide", "sata")
LIBVIRT_BUSES = ("ide", "scsi", "virtio", "sata", "usb")  # DiskDef.DiskBus values a detail may name


def details_of(st: State, vm: m.VirtualMachine) -> dict[str, str]:
    """The VM's details over its template's (``UserVmManagerImpl`` copies the template's details
    into the VM's at deploy; the deploy's own ``details`` win)."""
    tpl = st.get("template", vm.template_id, True)
    merged = dict(tpl.details) if tpl is not None else {}
    merged.update(vm.details)
    return merged


def _detail(details: dict[str, str], name: str) -> str:
    value = next((v for k, v in details.items() if k.lower() == name.lower()), "")
    return str(value).strip().lower()


def guest_disk_model(emulator: str | None) -> str:
    """``LibvirtComputingResource.getGuestDiskModel`` (x86, BIOS boot)."""
    if not emulator:
        return "ide"
    if emulator.startswith("Other PV Virtio-SCSI"):
        return "scsi"
    if "Ubuntu" in emulator or emulator.startswith(VIRTIO_PREFIXES):
        return "virtio"
    return "ide"


def _os_description(st: State, vm: m.VirtualMachine) -> str | None:
    tpl = st.get("template", vm.template_id, True)
    os_type = st.get("ostype", tpl.ostype_id, True) if tpl is not None else None
    return os_type.description if os_type is not None else None


def kvm_root_bus(st: State, vm: m.VirtualMachine) -> str:
    """``getDiskModelFromVMDetail`` (a ``rootDiskController`` naming a libvirt bus), else by OS type."""
    detail = _detail(details_of(st, vm), "rootDiskController")
    if detail in LIBVIRT_BUSES:
        return detail
    return guest_disk_model(_os_description(st, vm))


def kvm_data_bus(st: State, vm: m.VirtualMachine, zone: m.Zone, hot_plug: bool) -> str:
    root = kvm_root_bus(st, vm)
    if hot_plug:
        return "scsi" if root == "scsi" else "virtio"
    if zone.storage_pool_type in ("RBD", "Gluster"):
        return root
    detail = _detail(details_of(st, vm), "dataDiskController")
    if detail in LIBVIRT_BUSES:
        return detail
    return "scsi" if root == "scsi" else "virtio"


def vmware_root_on_ide(st: State, vm: m.VirtualMachine) -> bool:
    return _detail(details_of(st, vm), "rootDiskController") == "ide"


def family(vol: m.Volume) -> str:
    """The kernel's name prefix for the disk's driver."""
    return "vd" if vol.bus == "virtio" else "sd"


def _next_unit(used: set[int]) -> int:
    unit = 0
    while unit in used or unit == SCSI_RESERVED_UNIT:
        unit += 1
    return unit


def lay_out(st: State, vm: m.VirtualMachine, zone: m.Zone) -> None:
    """A start (deploy, or start of a stopped VM): buses, units and PCI order from the device ids."""
    vols = sorted((v for v in st.live("volume") if v.vm_id == vm.id), key=lambda v: v.deviceid or 0)
    used: set[int] = set()
    for vol in vols:
        vol.attach_order = st.next_attach_seq()
        vol.scsi_unit = None
        if zone.hypervisor == "KVM":
            vol.bus = kvm_root_bus(st, vm) if vol.type == "ROOT" else kvm_data_bus(st, vm, zone, hot_plug=False)
        elif zone.hypervisor == "VMware":
            vol.bus = "ide" if vol.type == "ROOT" and vmware_root_on_ide(st, vm) else "scsi"
            if vol.bus == "scsi":
                vol.scsi_unit = _next_unit(used)
                used.add(vol.scsi_unit)
        else:
            vol.bus = None
    enumerate_at_boot(st, vm)


def hot_plug(st: State, vm: m.VirtualMachine, zone: m.Zone, vol: m.Volume) -> None:
    """``attachVolume`` to a VM: the bus and unit the disk gets; on a running VM its guest name too."""
    others = [v for v in st.live("volume") if v.vm_id == vm.id and v.id != vol.id]
    vol.attach_order = st.next_attach_seq()
    vol.scsi_unit = None
    if zone.hypervisor == "KVM":
        vol.bus = kvm_data_bus(st, vm, zone, hot_plug=vm.state == "Running")
    elif zone.hypervisor == "VMware":
        vol.bus = "scsi"
        vol.scsi_unit = _next_unit({v.scsi_unit for v in others if v.scsi_unit is not None})
    else:
        vol.bus = None
    if vm.state == "Running":
        taken = {vm.guest_disk_names[v.id] for v in others if v.id in vm.guest_disk_names and family(v) == family(vol)}
        vm.guest_disk_names[vol.id] = next(i for i in range(len(taken) + 1) if i not in taken)


def enumerate_at_boot(st: State, vm: m.VirtualMachine) -> None:
    """Probe order per name family: ATA ports first, then PCI slots (``attach_order``), then SCSI units."""
    vols = [v for v in st.live("volume") if v.vm_id == vm.id]
    names: dict[str, int] = {}
    for prefix in ("vd", "sd"):
        mine = [v for v in vols if family(v) == prefix]
        mine.sort(key=lambda v: (v.bus not in ATA_BUSES, v.deviceid if v.bus in ATA_BUSES else 0,
                                 v.scsi_unit if v.scsi_unit is not None else -1, v.attach_order))
        names.update({v.id: i for i, v in enumerate(mine)})
    vm.guest_disk_names = names


def kvm_by_id(vol: m.Volume) -> list[str]:
    """udev's ``/dev/disk/by-id`` link for the bus (60-persistent-storage.rules naming; QEMU's model
    strings ``QEMU HARDDISK`` / ``QEMU_HARDDISK``)."""
    serial = vol.id.replace("-", "")[:20]
    if vol.bus == "virtio":
        return [f"/dev/disk/by-id/virtio-{serial}"]
    if vol.bus == "scsi":
        return [f"/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_{serial}"]
    return [f"/dev/disk/by-id/ata-QEMU_HARDDISK_{serial}"]
