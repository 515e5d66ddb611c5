"""The bosh-agent's device path resolvers, modelled over a simulated guest's ``/dev``.

Sources (cloudfoundry/bosh-agent): ``settings/settings.go`` ``populatePersistentDiskSettings``
(how a hint becomes DiskSettings), ``infrastructure/devicepathresolver/``:
``identity_device_path_resolver.go``, ``mapped_device_path_resolver.go``,
``id_device_path_resolver.go``, ``virtio_device_path_resolver.go``,
``scsi_device_path_resolver.go``, ``scsi_id_device_path_resolver.go``,
``scsi_volume_id_device_path_resolver.go``. Waits and rescans are not modelled: a device
that is not there now is a timeout in the agent, a ResolveError here.

It lives in the test kit so the contract suite (:func:`cpi_framework.testing.checks.guest_disk`),
the core's disk tests and third-party plugin tests judge hints by the same model. It imports
nothing from the CPI or its plugins, and must stay that way: it is the second reading.

Two facts the model makes explicit because hints get them wrong easily:

* the virtio resolver's by-id lookup uses ``DiskSettings.ID``, which is the disk **CID**
  (the key of ``disks.persistent``), not the hint's ``id`` (that one is ``DeviceID``, read
  only by the scsi resolver). A CloudStack CID is a dashed UUID while the KVM serial is the
  dash-less UUID cut to 20 characters, so the by-id step never matches and the agent falls
  back to the hint's ``path``;
* agents before the ``DiskIDTransformPattern`` change glob ``*<ID[0:20]>``, later ones
  ``*<ID>`` (or the transformed ID when the stemcell's agent.json sets a pattern);
* the mapped resolver (``findPossibleDevice``) follows a symbolic link named by the hint's
  ``path`` (agents since 2018, commit e9f7046 "Add support for NVMe devices"), so a
  ``/dev/disk/by-id/virtio-<serial>`` path reaches its disk whatever name the kernel gave it,
  while the identity resolver hands the link on as is and the agent then looks for the
  partition ``<link>1``, which udev never creates (it names it ``<link>-part1``).

The interface, for other implementations of the same judgement (a Go program running the
agent's own resolvers reads the same inputs): a **guest view** (the simulator's
``guest_view(vm)``; only ``disks`` is read), a **hint** (a string or a hash of strings, as the
director passes it to the agent), the disk **CID** (``""`` for the ephemeral disk) and the
**resolver configuration** (``DevicePathResolutionType`` names, plus :class:`AgentOptions`).
Each guest disk is a hash::

    {"volume_id": "<CloudStack volume id>",     # what the hint must reach
     "path": "/dev/vdb",                        # the block device node the kernel created
     "by_id": ["/dev/disk/by-id/virtio-…"],     # udev links to it (optional; also by_path)
     "scsi": {"controller": 0, "unit": 1}}      # or {"host": 0, "channel": 0, "target": 0, "lun": 0}

``scsi`` gives the disk's ``/sys/bus/scsi/devices/<host>:<channel>:<target>:<lun>`` address;
``controller`` counts SCSI controllers from host 2 (hosts 0 and 1 are the two ATA channels
of the IDE controller every x86 VM has), an explicit ``host`` is used as is (an IDE disk
through libata: host 0 or 1). :func:`resolve_volume` answers the volume id or raises
:class:`ResolveError` naming the resolver step that failed.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AGENT_RESOLUTION",
    "DEFAULT_RESOLUTION",
    "STEMCELL_RESOLVERS",
    "AgentOptions",
    "DiskSettings",
    "GuestDevices",
    "Resolution",
    "ResolveError",
    "disk_settings",
    "resolve",
    "resolve_hint",
    "resolve_volume",
    "resolvers_for",
    "scsi_address",
]

STEMCELL_RESOLVERS: dict[str, tuple[str, ...]] = {
    "xen": ("virtio", "identity"),
    "kvm": ("virtio",),
    "vmware": ("scsi",),
}
"""Resolvers a hint must satisfy for the stemcells each shipped plugin targets, the stemcell's own
``DevicePathResolutionType`` first: the CloudStack stemcell (xen) and the OpenStack stemcell
(kvm) say ``virtio``; the vmware plugin needs a stemcell saying ``scsi`` (docs/stemcells.md).
Xen hints must also pass ``identity``, the agent's default when ``agent.json`` names no type
(older or hand-built CloudStack images); on a Xen guest (no ``/dev/disk/by-id`` serials) it is
the stricter of the two."""

AGENT_RESOLUTION = {name: types[0] for name, types in STEMCELL_RESOLVERS.items()}
"""``DevicePathResolutionType`` of the stemcell each shipped plugin targets."""

DEFAULT_RESOLUTION = "identity"
"""What the agent uses when ``agent.json`` names no type: the fallback for unknown hypervisors."""

SCSI_HOST_BASE = 2
"""Linux SCSI host number of controller 0 (hosts 0 and 1 go to the ATA ports of the CD-ROM)."""


class ResolveError(Exception):
    """The agent would fail (or time out) resolving this disk."""


@dataclass(frozen=True)
class DiskSettings:
    """``boshsettings.DiskSettings``: ``id`` is the disk CID, ``device_id`` the hint's ``id``."""

    id: str = ""
    device_id: str = ""
    volume_id: str = ""
    lun: str = ""
    host_device_id: str = ""
    path: str = ""


def disk_settings(cid: str, hint: Any) -> DiskSettings:
    """``populatePersistentDiskSettings``: a string fills Path and VolumeID; a hash its keys."""
    if isinstance(hint, str):
        return DiskSettings(id=cid, path=hint, volume_id=hint)
    if isinstance(hint, dict):
        known = {"path": "path", "volume_id": "volume_id", "id": "device_id", "lun": "lun",
                 "host_device_id": "host_device_id"}
        values: dict[str, str] = {}
        for key, attr in known.items():
            if key in hint:
                if not isinstance(hint[key], str):  # the agent does hash[key].(string): a panic
                    raise ResolveError(f"hint value {key}={hint[key]!r} is not a string; the agent would panic")
                values[attr] = hint[key]
        return DiskSettings(id=cid, **values)
    raise ResolveError(f"hint {hint!r} is neither a string nor a hash")


@dataclass
class GuestDevices:
    """The guest's block devices: ``/dev`` nodes, ``/dev/disk/by-id`` links, SCSI addresses."""

    devices: dict[str, str] = field(default_factory=dict)
    """device path → volume id of the disk behind it"""
    by_id: dict[str, str] = field(default_factory=dict)
    """``/dev/disk/by-id/<name>`` → device path"""
    links: dict[str, str] = field(default_factory=dict)
    """every udev link (``/dev/disk/by-id/…``, ``/dev/disk/by-path/…``) → device path"""
    scsi: dict[tuple[int, int, int, int], str] = field(default_factory=dict)
    """(host, channel, target, lun) → block device name (``sdb``)"""

    @classmethod
    def from_guest_view(cls, view: dict[str, Any]) -> GuestDevices:
        guest = cls()
        for disk in view.get("disks") or []:
            path = disk["path"]
            guest.devices[path] = disk["volume_id"]
            for link in disk.get("by_id") or []:
                guest.by_id[link] = path
                guest.links[link] = path
            for link in disk.get("by_path") or []:
                guest.links[link] = path
            scsi = disk.get("scsi")
            if scsi is not None:
                guest.scsi[scsi_address(scsi)] = posixpath.basename(path)
        return guest

    def exists(self, path: str) -> bool:
        """A device node (``FileExists`` on the node itself)."""
        return path in self.devices

    def is_link(self, path: str) -> bool:
        return path in self.links

    def glob_by_id(self, pattern: str) -> list[str]:
        return sorted(link for link in self.by_id if fnmatch.fnmatchcase(posixpath.basename(link), pattern))


@dataclass(frozen=True)
class AgentOptions:
    """The agent version and agent.json knobs that change resolution."""

    truncate_id: bool = False
    """True for agents that glob ``*<ID[0:20]>`` (before DiskIDTransformPattern)."""
    id_transform_pattern: str = ""
    id_transform_replacement: str = ""


@dataclass(frozen=True)
class Resolution:
    path: str
    via: str


def scsi_address(scsi: dict[str, Any]) -> tuple[int, int, int, int]:
    """A guest view's ``scsi`` entry as (host, channel, target, lun); see the module docstring."""
    if "host" in scsi:
        return (int(scsi["host"]), int(scsi.get("channel", 0)), int(scsi["target"]), int(scsi.get("lun", 0)))
    return (SCSI_HOST_BASE + int(scsi.get("controller", 0)), 0, int(scsi["unit"]), 0)


def identity(ds: DiskSettings, guest: GuestDevices) -> Resolution:
    """``identityDevicePathResolver``: the path as is (its existence is checked later, by the mount)."""
    if not ds.path:
        raise ResolveError("identity: path is missing")
    if guest.is_link(ds.path):
        # linux_platform.partitionPath appends the partition number: <link>1 does not exist.
        raise ResolveError(f"identity: {ds.path} is a link; the agent would look for its partition "
                           f"{ds.path}1, which udev does not create")
    if not guest.exists(ds.path):
        raise ResolveError(f"identity: {ds.path} does not exist in the guest (the mount would time out)")
    return Resolution(ds.path, "identity")


def mapped(ds: DiskSettings, guest: GuestDevices) -> Resolution:
    """``mappedDevicePathResolver.findPossibleDevice``: ``/dev/sdX`` tries xvd/vd/sd; other paths
    must exist, and a symbolic link is followed once to the device it names."""
    if not ds.path:
        raise ResolveError("mapped: path is missing")
    if ds.path.startswith("/dev/sd"):
        suffix = ds.path[len("/dev/sd"):]
        for prefix in ("/dev/xvd", "/dev/vd", "/dev/sd"):
            if guest.exists(prefix + suffix):
                return Resolution(prefix + suffix, "mapped")
    elif guest.exists(ds.path):
        return Resolution(ds.path, "mapped")
    elif guest.is_link(ds.path):
        return Resolution(guest.links[ds.path], "mapped-link")
    raise ResolveError(f"mapped: no device for {ds.path} (the agent waits 30 s, then fails)")


def by_id(ds: DiskSettings, guest: GuestDevices, options: AgentOptions) -> Resolution:
    if not ds.id:
        raise ResolveError("id: Disk ID is not set")
    if len(ds.id) < 20:
        raise ResolveError("id: Disk ID is not the correct format")
    if options.truncate_id:
        pattern = "*" + ds.id[:20]
    elif options.id_transform_pattern:
        pattern = re.sub(options.id_transform_pattern, options.id_transform_replacement, ds.id)
    else:
        pattern = "*" + ds.id
    matches = guest.glob_by_id(pattern)
    if not matches:
        raise ResolveError(f"id: nothing in /dev/disk/by-id matches {pattern!r}")
    if len(matches) > 1:
        raise ResolveError(f"id: more than one disk matched {pattern!r}: {matches}")
    return Resolution(guest.by_id[matches[0]], "id")


def virtio(ds: DiskSettings, guest: GuestDevices, options: AgentOptions) -> Resolution:
    try:
        return by_id(ds, guest, options)
    except ResolveError as first:
        try:
            return mapped(ds, guest)
        except ResolveError as second:
            raise ResolveError(f"virtio: {first}; then {second}") from second


def scsi(ds: DiskSettings, guest: GuestDevices) -> Resolution:
    if ds.device_id:
        wanted = ds.device_id.replace("-", "")
        for link in guest.glob_by_id("*" + wanted):
            return Resolution(guest.by_id[link], "scsi-id")
        raise ResolveError(f"scsi-id: nothing in /dev/disk/by-id ends with {wanted!r}")
    if ds.volume_id:
        # Glob("/sys/bus/scsi/devices/*:0:0:0/block/*") answers in lexical order and the loop keeps
        # the host of the LAST sd* match: with an IDE root (libata, host 0) and a data disk at SCSI
        # unit 0 (host 2) that is the SCSI host; with nothing at SCSI unit 0 it is the IDE host.
        matches = sorted((f"{h}:{c}:{t}:{lun}/block/{name}", h) for (h, c, t, lun), name in guest.scsi.items()
                         if (c, t, lun) == (0, 0, 0))
        hosts = [h for entry, h in matches if entry.rsplit("/", 1)[1].startswith("sd")]
        if not hosts:
            raise ResolveError("scsi-volume-id: no root disk at <host>:0:0:0 (Zero length hostID)")
        host = hosts[-1]
        for (h, c, t, lun), name in guest.scsi.items():
            if (h, c, lun) == (host, 0, 0) and str(t) == ds.volume_id:
                return Resolution("/dev/" + name, "scsi-volume-id")
        raise ResolveError(f"scsi-volume-id: no device at {host}:0:{ds.volume_id}:0")
    if ds.lun and ds.host_device_id:
        raise ResolveError("scsi-lun: Hyper-V vmbus devices are not modelled (no CloudStack hypervisor uses them)")
    raise ResolveError("scsi: Neither ID, VolumeID nor (Lun, HostDeviceID) provided in disk settings")


def resolve(resolution: str, ds: DiskSettings, guest: GuestDevices, options: AgentOptions | None = None) -> Resolution:
    """Resolve like an agent whose agent.json says ``DevicePathResolutionType: <resolution>``."""
    options = options or AgentOptions()
    if resolution in ("", "identity"):
        return identity(ds, guest)
    if resolution == "virtio":
        return virtio(ds, guest, options)
    if resolution == "scsi":
        return scsi(ds, guest)
    raise ValueError(f"unknown DevicePathResolutionType {resolution!r}")


def resolve_hint(
    hypervisor: str,
    cid: str,
    hint: Any,
    guest_view: dict[str, Any],
    options: AgentOptions | None = None,
) -> tuple[Resolution, str]:
    """Resolve a persistent-disk hint in the guest; returns the resolution and the volume id it reaches."""
    guest = GuestDevices.from_guest_view(guest_view)
    found = resolve(AGENT_RESOLUTION.get(hypervisor, hypervisor), disk_settings(cid, hint), guest, options)
    return found, guest.devices[found.path]


def resolvers_for(hypervisor: str) -> tuple[str, ...]:
    """The resolvers a hint for ``hypervisor``'s stemcells must satisfy (``identity`` when unknown)."""
    return STEMCELL_RESOLVERS.get(hypervisor, (DEFAULT_RESOLUTION,))


def resolve_volume(
    resolvers: str | tuple[str, ...] | list[str],
    cid: str,
    hint: Any,
    guest_view: dict[str, Any],
    options: AgentOptions | None = None,
) -> str:
    """The volume id ``hint`` reaches in the guest under **every** named resolver.

    ``cid`` is the disk CID for a persistent disk and ``""`` for the ephemeral one (the agent's
    ``EphemeralDiskSettings`` carries no ID). Raises :class:`ResolveError` naming the resolver
    that fails, or the two that land on different volumes.
    """
    names = (resolvers,) if isinstance(resolvers, str) else tuple(resolvers)
    if not names:
        raise ValueError("no resolver named")
    guest = GuestDevices.from_guest_view(guest_view)
    settings = disk_settings(cid, hint)
    reached: dict[str, str] = {}
    for name in names:
        try:
            found = resolve(name, settings, guest, options)
        except ResolveError as err:
            raise ResolveError(f"{name} resolver: {err} (hint {hint!r}, cid {cid!r})") from err
        reached[name] = guest.devices[found.path]
    if len(set(reached.values())) > 1:
        raise ResolveError(f"resolvers disagree on hint {hint!r}: {reached}")
    return reached[names[0]]
