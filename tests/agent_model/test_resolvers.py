"""The agent model (``cpi_framework.testing.agent_resolvers``) against hand-written guests, no plugin code."""

from __future__ import annotations

import pytest

from cpi_framework.testing.agent_resolvers import (
    AGENT_RESOLUTION,
    AgentOptions,
    GuestDevices,
    ResolveError,
    disk_settings,
    resolve,
    resolve_hint,
    resolve_volume,
    resolvers_for,
)

VOL_A = "6f1c2a9e-3b7d-4c55-9e21-0a8b7c6d5e4f"
VOL_B = "0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a"
SERIAL_A = VOL_A.replace("-", "")[:20]


def xen_guest() -> dict:
    return {"disks": [
        {"volume_id": "root", "path": "/dev/xvda"},
        {"volume_id": VOL_B, "path": "/dev/xvdb"},
        {"volume_id": VOL_A, "path": "/dev/xvdc"},
    ]}


def kvm_guest() -> dict:
    return {"disks": [
        {"volume_id": "root", "path": "/dev/vda", "by_id": ["/dev/disk/by-id/virtio-rootserial000000000"]},
        {"volume_id": VOL_A, "path": "/dev/vdb", "by_id": [f"/dev/disk/by-id/virtio-{SERIAL_A}"]},
    ]}


def vmware_guest() -> dict:
    return {"disks": [
        {"volume_id": "root", "path": "/dev/sda", "scsi": {"controller": 0, "unit": 0}},
        {"volume_id": VOL_B, "path": "/dev/sdb", "scsi": {"controller": 0, "unit": 1}},
        {"volume_id": VOL_A, "path": "/dev/sdc", "scsi": {"controller": 0, "unit": 2}},
    ]}


def test_string_hint_fills_path_and_volume_id():
    ds = disk_settings(VOL_A, "/dev/xvdc")
    assert (ds.id, ds.path, ds.volume_id, ds.device_id) == (VOL_A, "/dev/xvdc", "/dev/xvdc", "")


def test_hash_hint_id_is_the_device_id_not_the_disk_id():
    ds = disk_settings(VOL_A, {"id": SERIAL_A, "path": "/dev/vdb"})
    assert ds.id == VOL_A and ds.device_id == SERIAL_A


def test_non_string_hint_value_would_panic_the_agent():
    with pytest.raises(ResolveError, match="not a string"):
        disk_settings(VOL_A, {"volume_id": 2})


def test_xen_path_hint_reaches_the_volume_through_virtio_fallback():
    found, volume = resolve_hint("xen", VOL_A, {"path": "/dev/xvdc", "volume_id": "2"}, xen_guest())
    assert (found.path, found.via, volume) == ("/dev/xvdc", "mapped", VOL_A)


def test_identity_refuses_a_path_the_guest_does_not_have():
    guest = GuestDevices.from_guest_view(xen_guest())
    with pytest.raises(ResolveError, match="does not exist"):
        resolve("identity", disk_settings(VOL_A, "/dev/xvdq"), guest)


def test_mapped_rewrites_sd_paths_to_xvd():
    guest = GuestDevices.from_guest_view(xen_guest())
    assert resolve("virtio", disk_settings("short", "/dev/sdc"), guest).path == "/dev/xvdc"


def test_virtio_by_id_uses_the_cid_so_a_dashed_uuid_falls_back_to_path():
    guest = GuestDevices.from_guest_view(kvm_guest())
    found = resolve("virtio", disk_settings(VOL_A, {"id": SERIAL_A, "path": "/dev/vdb"}), guest)
    assert (found.path, found.via) == ("/dev/vdb", "mapped")
    with pytest.raises(ResolveError, match="nothing in /dev/disk/by-id"):
        resolve("virtio", disk_settings(VOL_A, {"id": SERIAL_A, "path": "/dev/vdz"}), guest)


def test_virtio_by_id_matches_a_dashless_cid_on_old_agents_or_with_a_transform():
    guest = GuestDevices.from_guest_view(kvm_guest())
    dashless = VOL_A.replace("-", "")
    old = resolve("virtio", disk_settings(dashless, {}), guest, AgentOptions(truncate_id=True))
    assert (old.path, old.via) == ("/dev/vdb", "id")
    transform = AgentOptions(id_transform_pattern=r"^(\w{8})-(\w{4})-(\w{4})-(\w{4}).*$",
                             id_transform_replacement=r"virtio-\1\2\3\4")
    assert resolve("virtio", disk_settings(VOL_A, {}), guest, transform).via == "id"


def test_scsi_volume_id_is_the_target_on_the_root_disk_host():
    found, volume = resolve_hint("vmware", VOL_A, {"volume_id": "2"}, vmware_guest())
    assert (found.path, found.via, volume) == ("/dev/sdc", "scsi-volume-id", VOL_A)
    with pytest.raises(ResolveError, match="no device at"):
        resolve_hint("vmware", VOL_A, {"volume_id": "5"}, vmware_guest())


def test_scsi_without_usable_keys_fails():
    with pytest.raises(ResolveError, match="Neither ID"):
        resolve_hint("vmware", VOL_A, {"path": "/dev/sdc"}, vmware_guest())


def test_resolvers_per_shipped_stemcell():
    assert resolvers_for("xen") == ("virtio", "identity")
    assert resolvers_for("kvm") == ("virtio",) and resolvers_for("vmware") == ("scsi",)
    assert resolvers_for("some-flavour") == ("identity",)
    assert AGENT_RESOLUTION == {"xen": "virtio", "kvm": "virtio", "vmware": "scsi"}


def test_resolve_volume_requires_every_resolver_to_reach_the_volume():
    assert resolve_volume(("virtio", "identity"), VOL_A, {"path": "/dev/xvdc"}, xen_guest()) == VOL_A
    # virtio's mapped step rewrites /dev/sdc to /dev/xvdc; identity does not: the pair refuses it
    assert resolve_volume("virtio", VOL_A, "/dev/sdc", xen_guest()) == VOL_A
    with pytest.raises(ResolveError, match="identity resolver"):
        resolve_volume(("virtio", "identity"), VOL_A, "/dev/sdc", xen_guest())


def test_resolve_volume_kvm_finds_the_disk_by_path_not_by_the_hint_id():
    # a right serial with a wrong path fails: the real agent never reads the hint's id under virtio
    with pytest.raises(ResolveError, match="virtio resolver"):
        resolve_volume("virtio", VOL_A, {"id": SERIAL_A, "path": "/dev/vdc"}, kvm_guest())
    assert resolve_volume("virtio", VOL_A, {"id": "wrong", "path": "/dev/vdb"}, kvm_guest()) == VOL_A


def test_resolve_volume_ephemeral_has_no_disk_id():
    assert resolve_volume("virtio", "", {"path": "/dev/vdb"}, kvm_guest()) == VOL_A
    assert resolve_volume("scsi", "", {"volume_id": "2"}, vmware_guest()) == VOL_A


def test_mapped_follows_a_by_id_link_to_whatever_name_the_kernel_gave() -> None:
    # bosh-agent mappedDevicePathResolver.findPossibleDevice: Lstat, Readlink, join with "..": /dev/vdb
    link = f"/dev/disk/by-id/virtio-{SERIAL_A}"
    found = resolve("virtio", disk_settings(VOL_A, {"id": SERIAL_A, "path": link}), GuestDevices.from_guest_view(
        kvm_guest()))
    assert (found.path, found.via) == ("/dev/vdb", "mapped-link")


def test_identity_hands_a_link_on_and_the_partition_path_does_not_exist() -> None:
    with pytest.raises(ResolveError, match="partition"):
        resolve_volume("identity", VOL_A, {"path": f"/dev/disk/by-id/virtio-{SERIAL_A}"}, kvm_guest())


def kvm_after_detach_reboot_attach() -> dict:
    """attach A (vdc), attach B (vdd), detach A, reboot (B becomes vdc), attach C (hot-plugged as vdd)."""
    serial_b, serial_c = VOL_B.replace("-", "")[:20], "c" * 20
    return {"disks": [
        {"volume_id": "root", "path": "/dev/vda", "by_id": ["/dev/disk/by-id/virtio-rootserial000000000"]},
        {"volume_id": "eph", "path": "/dev/vdb", "by_id": ["/dev/disk/by-id/virtio-ephserial00000000000"]},
        {"volume_id": VOL_B, "path": "/dev/vdc", "by_id": [f"/dev/disk/by-id/virtio-{serial_b}"]},
        {"volume_id": "vol-c", "path": "/dev/vdd", "by_id": [f"/dev/disk/by-id/virtio-{serial_c}"]},
    ]}


def test_device_id_paths_go_stale_after_detach_reboot_attach_and_by_id_links_do_not() -> None:
    guest = kvm_after_detach_reboot_attach()
    serial_b = VOL_B.replace("-", "")[:20]
    # the old hint for B (device id 4 -> /dev/vdd) now reaches C's disk: the wrong disk mounted
    assert resolve_volume("virtio", VOL_B, {"id": serial_b, "path": "/dev/vdd"}, guest) == "vol-c"
    assert resolve_volume("virtio", VOL_B, {"id": serial_b, "path": f"/dev/disk/by-id/virtio-{serial_b}"},
                          guest) == VOL_B


def test_scsi_volume_id_takes_the_last_host_with_a_disk_at_target_0_in_glob_order() -> None:
    # IDE root through libata at 0:0:0:0, data disks on the SCSI controller (host 2) from unit 0
    ide_root = {"disks": [
        {"volume_id": "root", "path": "/dev/sda", "scsi": {"host": 0, "channel": 0, "target": 0, "lun": 0}},
        {"volume_id": "eph", "path": "/dev/sdb", "scsi": {"controller": 0, "unit": 0}},
        {"volume_id": VOL_A, "path": "/dev/sdc", "scsi": {"controller": 0, "unit": 1}},
    ]}
    assert resolve_volume("scsi", VOL_A, {"volume_id": "1"}, ide_root) == VOL_A
    assert resolve_volume("scsi", "", {"volume_id": "0"}, ide_root) == "eph"
    # nothing at SCSI unit 0: the root's IDE host is the last match, and the lookup misses
    no_unit_0 = {"disks": [d for d in ide_root["disks"] if d["volume_id"] != "eph"]}
    with pytest.raises(ResolveError, match="no device at 0:0:1:0"):
        resolve_volume("scsi", VOL_A, {"volume_id": "1"}, no_unit_0)
