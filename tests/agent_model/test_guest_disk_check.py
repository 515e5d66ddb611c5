"""The contract suite's hint check (``checks.guest_disk``) follows the agent model, not the hint's keys.

A stub simulator serves hand-written guest views, so each case shows a hint the old id-first
check accepted and the real agent would miss.
"""

from __future__ import annotations

from typing import Any

import pytest

from cpi_framework.testing.checks import guest_disk, system_disk

VOL = "6f1c2a9e-3b7d-4c55-9e21-0a8b7c6d5e4f"
SERIAL = VOL.replace("-", "")[:20]


class StubSimulator:
    def __init__(self, disks: list[dict[str, Any]]) -> None:
        self.disks = disks

    def guest_view(self, vm_cid: str) -> dict[str, Any]:
        return {"disks": self.disks}


BY_ID = "/dev/disk/by-id/virtio-"
KVM = StubSimulator([
    {"volume_id": "root", "type": "ROOT", "path": "/dev/vda", "by_id": [BY_ID + "rootserial0000000000"]},
    {"volume_id": "eph", "type": "DATADISK", "path": "/dev/vdb", "by_id": [BY_ID + "ephserial00000000000"]},
    {"volume_id": VOL, "type": "DATADISK", "path": "/dev/vdc", "by_id": [f"/dev/disk/by-id/virtio-{SERIAL}"]},
])
XEN = StubSimulator([
    {"volume_id": "root", "type": "ROOT", "path": "/dev/xvda"},
    {"volume_id": VOL, "type": "DATADISK", "path": "/dev/xvdc"},
])


def test_kvm_hint_with_the_right_serial_and_a_wrong_path_fails():
    assert guest_disk(KVM, "vm", {"id": SERIAL, "path": "/dev/vdc"}, resolver="virtio", cid=VOL)["volume_id"] == VOL
    # the agent lands on whatever the path names (the contract then sees the wrong volume) ...
    assert guest_disk(KVM, "vm", {"id": SERIAL, "path": "/dev/vdb"}, resolver="virtio", cid=VOL)["volume_id"] == "eph"
    # ... or on nothing
    with pytest.raises(AssertionError, match="would not find disk"):
        guest_disk(KVM, "vm", {"id": SERIAL, "path": "/dev/vdz"}, resolver="virtio", cid=VOL)


def test_xen_sd_path_passes_virtio_but_not_the_identity_resolver():
    assert guest_disk(XEN, "vm", "/dev/sdc", resolver="virtio", cid=VOL)["volume_id"] == VOL
    with pytest.raises(AssertionError, match="identity resolver"):
        guest_disk(XEN, "vm", "/dev/sdc", resolver=("virtio", "identity"), cid=VOL)


def test_ephemeral_hint_resolves_without_a_disk_id():
    assert guest_disk(KVM, "vm", {"path": "/dev/vdb"}, resolver="virtio")["volume_id"] == "eph"


def test_system_disk_is_the_exact_path():
    assert system_disk(KVM, "vm", "/dev/vda")["type"] == "ROOT"
    with pytest.raises(AssertionError):
        system_disk(KVM, "vm", "/dev/sda")
