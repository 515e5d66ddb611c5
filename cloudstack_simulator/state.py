"""The simulator's world: every object, one lock, and the rules shared by commands.

One ``threading.RLock`` guards everything; the HTTP handler holds it for the whole of
an API command, so commands are atomic like database transactions.  Long-running
work (uploads, URL downloads) runs outside the lock and takes it only to record results.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import secrets
import threading
import time
import uuid
from datetime import datetime, timezone
from importlib import resources
from typing import Any, TypeVar

from . import models as m
from .versions import Profile

T = TypeVar("T")
_NS = uuid.UUID("6f1c1b0e-3c1d-4c57-9a43-6b1d0c5a1f00")

KINDS = ("zone", "networkoffering", "network", "serviceoffering", "diskoffering", "ostype", "keypair",
         "template", "vm", "volume", "snapshot", "publicip", "affinitygroup", "lbrule")


def now_str(ts: float | None = None) -> str:
    """Server timestamp format, e.g. ``2021-10-04T09:24:38+0000``."""
    dt = datetime.fromtimestamp(ts if ts is not None else time.time(), tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S+0000")


def stable_id(kind: str, *names: str) -> str:
    """Config objects get name-derived UUIDs, stable across runs (handy for CLI users)."""
    return str(uuid.uuid5(_NS, "/".join((kind, *names))))


def fingerprint(public_key: str) -> str:
    """MD5 colon fingerprint of an OpenSSH public key, as listSSHKeyPairs shows it."""
    try:
        blob = base64.b64decode(public_key.split()[1])
    except Exception:  # noqa: BLE001 - a malformed key gets the fingerprint of its text
        blob = public_key.encode()
    digest = hashlib.md5(blob).hexdigest()  # noqa: S324 - it is the format, not security
    return ":".join(digest[i:i + 2] for i in range(0, 32, 2))


class State:
    """All simulated objects plus configuration-derived settings."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.profile = Profile(cfg["cloudstack_version"])  # the server generation's rules (versions.py)
        self.lock = threading.RLock()
        self.store: dict[str, dict[str, Any]] = {k: {} for k in KINDS}
        self.tags: list[m.Tag] = []
        self._num = 1000
        self._mac = 0
        self._attach_seq = 0
        self.account_id = stable_id("account", cfg["account"])
        self.user_id = stable_id("user", cfg["account"])
        self.domain_id = stable_id("domain", cfg["domain"])
        self.upload_key = secrets.token_bytes(32)  # the SSVM's pre-shared upload key
        self._load()

    # -- ids and counters -------------------------------------------------------------
    def next_num(self) -> int:
        self._num += 1
        return self._num

    def next_attach_seq(self) -> int:
        self._attach_seq += 1
        return self._attach_seq

    def new_mac(self) -> str:
        self._mac += 1
        n = self._mac
        return "02:00:" + ":".join(f"{(n >> s) & 255:02x}" for s in (24, 16, 8, 0))

    # -- generic access -----------------------------------------------------------------
    def add(self, kind: str, obj: T) -> T:
        self.store[kind][obj.id] = obj  # type: ignore[attr-defined]
        return obj

    def get(self, kind: str, obj_id: str | None, include_removed: bool = False) -> Any:
        if obj_id is None:
            return None
        obj = self.store[kind].get(obj_id)
        if obj is None or (obj.removed and not include_removed):
            return None
        return obj

    def live(self, kind: str) -> list[Any]:
        return [o for o in self.store[kind].values() if not o.removed]

    def by_name(self, kind: str, name: str, zone_id: str | None = None) -> Any:
        for obj in self.live(kind):
            if obj.name == name and (zone_id is None or getattr(obj, "zone_id", zone_id) == zone_id):
                return obj
        return None

    def max_data_volumes(self, zone: m.Zone) -> int:
        return zone.max_data_volumes

    # -- networking ---------------------------------------------------------------------
    def ips_in_use(self, network_id: str) -> set[str]:
        """Guest IPs held by any VM not yet expunged (Destroyed VMs keep theirs)."""
        used = set()
        for vm in self.store["vm"].values():
            if vm.removed:
                continue
            for nic in vm.nics:
                if nic.network_id == network_id:
                    used.add(nic.ipaddress)
        return used

    def allocate_ip(self, net: m.Network) -> str | None:
        taken = self.ips_in_use(net.id) | {net.gateway, net.router_ip}
        for host in ipaddress.ip_network(net.cidr).hosts():
            if str(host) not in taken:
                return str(host)
        return None

    # -- loading ------------------------------------------------------------------------
    def _load(self) -> None:
        cfg = self.cfg
        created = now_str()
        for desc in self._os_type_descriptions():
            oid = stable_id("ostype", desc[0])
            self.add("ostype", m.OsType(oid, desc[0], stable_id("oscategory", str(desc[1]))))
        for kp in cfg.get("ssh_keypairs") or []:
            self.add("keypair", m.KeyPair(stable_id("keypair", kp["name"]), kp["name"],
                                          fingerprint(kp.get("public_key", "")), kp.get("public_key", "")))
        for so in cfg.get("service_offerings") or []:
            custom = bool(so.get("customized"))
            text = so.get("displaytext") or (
                "Custom: CPU, RAM and speed given at deploy" if custom
                else f"{so['cpunumber']} CPU, {so['memory']} MB RAM")
            self.add("serviceoffering", m.ServiceOffering(
                stable_id("serviceoffering", so["name"]), so["name"], text, so.get("cpunumber"),
                so.get("cpuspeed", 1000 if not custom else None), so.get("memory"), custom, created))
        for do in cfg.get("disk_offerings") or []:
            custom = bool(do.get("customized"))
            size = int(do.get("disksize", 0))
            text = do.get("displaytext") or ("Custom size" if custom else f"{size} GB")
            self.add("diskoffering", m.DiskOffering(stable_id("diskoffering", do["name"]), do["name"], text,
                                                    size, custom, created, tags=str(do.get("tags") or ""),
                                                    strict=bool(do.get("disksizestrictness", False))))
        for no in cfg.get("network_offerings") or []:
            self.add("networkoffering", m.NetworkOffering(stable_id("networkoffering", no["name"]), no["name"],
                                                          no.get("userdata_provider", "VirtualRouter")))
        vlan = 100
        for z in cfg["zones"]:
            hv = z["hypervisor"]
            hv_cfg = (cfg.get("hypervisors") or {}).get(hv, {})
            limit = int(hv_cfg.get("max_data_volumes", 6))
            zone = self.add("zone", m.Zone(stable_id("zone", z["name"]), z["name"], hv, limit,
                                           storage_pool_type=str(hv_cfg.get("storage_pool_type", "NetworkFilesystem"))))
            for n in z.get("networks") or []:
                vlan += 1
                net_ = ipaddress.ip_network(n["cidr"])
                gateway = n.get("gateway") or str(next(net_.hosts()))
                offering = self.by_name("networkoffering", n.get("offering", "bosh-isolated-vr")) or next(
                    iter(self.live("networkoffering")))
                # The virtual router sits on the gateway address of an isolated network.
                self.add("network", m.Network(stable_id("network", z["name"], n["name"]), n["name"], zone.id,
                                              n["cidr"], gateway, str(net_.netmask), offering.id, vlan, gateway))
            for ip in z.get("public_ips") or []:
                self.add("publicip", m.PublicIp(stable_id("publicip", z["name"], ip), ip, zone.id, None, created))
            for t in z.get("templates") or []:
                self.add_template(zone, t["name"], fmt=t.get("format"), ostype=t.get("ostype"),
                                  size=int(t.get("size_gb", 3)) * 2**30, ready=True,
                                  requireshvm=t.get("requireshvm", True), stable=True)

    def _os_type_descriptions(self) -> list[tuple[str, Any]]:
        configured = self.cfg.get("os_types")
        if configured:
            return [(d, 7) for d in configured]
        text = (resources.files("cloudstack_simulator") / "examples" / "ostypes.json").read_text("utf-8")
        return [(o["description"], o["oscategoryid"]) for o in json.loads(text)["ostypes"]]

    def add_template(self, zone: m.Zone, name: str, fmt: str | None = None, ostype: str | None = None,
                     size: int = 3 * 2**30, ready: bool = True, requireshvm: bool = True,
                     stable: bool = False, **extra: Any) -> m.Template:
        fmt = fmt or {"XenServer": "VHD", "KVM": "QCOW2", "VMware": "OVA"}.get(zone.hypervisor, "VHD")
        ostypes = self.live("ostype")
        os_obj = next((o for o in ostypes if o.description == ostype), None) or next(
            (o for o in ostypes if o.description == "Other Linux (64-bit)"), ostypes[0])
        tid = stable_id("template", zone.name, name) if stable else str(uuid.uuid4())
        tpl = m.Template(tid, name, extra.pop("displaytext", name), zone.id, extra.pop("hypervisor", zone.hypervisor),
                         fmt, os_obj.id, now_str(), size=size, physicalsize=size, requireshvm=requireshvm,
                         **extra)
        if ready:
            tpl.isready, tpl.status, tpl.download_state, tpl.download_percent = (
                True, "Download Complete", "DOWNLOADED", 100)
        return self.add("template", tpl)
