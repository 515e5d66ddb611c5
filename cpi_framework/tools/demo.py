"""``cloudstack-cpi demo``: a whole CPI lifecycle against the embedded simulator, narrated.

It starts :class:`cloudstack_simulator.Simulator` (default inventory), writes a CPI config for
it in a temporary directory, and drives the *real* CPI process the way a director does -
one process per call, JSON on stdin and stdout - through stemcell, VM, disk and snapshot
calls. Each step shows the request, the answer, the time and the CloudStack API requests it
cost; at the right moments it shows what the VM's guest would see. It ends with a summary and
a check that the cloud holds nothing the CPI made. Nothing leaves this machine.
"""

from __future__ import annotations

import bz2
import io
import json
import os
import sys
import tarfile
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cpi_framework.tools.call import run_cpi
from cpi_framework.tools.common import (
    EXIT_FAILED,
    EXIT_OK,
    ToolError,
    abbreviate,
    color,
    format_table,
    make_parser,
    run_tool,
)

ZONES = {"xen": "zone-xen", "kvm": "zone-kvm", "vmware": "zone-vmware"}
FAULT_ENV = "CPI_DEMO_FAULT"
"""Hidden fault injection for tests: ``COMMAND[:N]`` makes the next N calls of a CloudStack
command fail (default: every call), e.g. ``createSnapshot`` fails ``snapshot_disk``."""
API_VERSION = 2
DEMO_PASSWORD = "demo-nats-password"  # a throw-away value; still redacted in what is shown


@dataclass
class Step:
    number: int
    method: str
    args: list[Any]
    ok: bool = False
    result: Any = None
    error: dict[str, Any] | None = None
    seconds: float = 0.0
    requests: Counter[str] = field(default_factory=Counter)
    skipped: str = ""


class Demo:
    def __init__(self, hypervisor: str, *, keep_going: bool, fault: str | None, out: IO[str],
                 simulator_config: str | None = None) -> None:
        self.hypervisor = hypervisor
        self.simulator_config = simulator_config
        self.keep_going = keep_going
        self.fault = fault
        self.out = out
        self.steps: list[Step] = []
        self.values: dict[str, Any] = {}
        self.director_uuid = str(uuid.uuid4())
        self.stopped = False

    # -- output --------------------------------------------------------------------------------

    def say(self, text: str = "", hue: str | None = None) -> None:
        self.out.write((color(text, hue, self.out) if hue else text) + "\n")
        self.out.flush()

    def explain(self, text: str) -> None:
        self.say(f"   {text}", "dim")

    # -- running -------------------------------------------------------------------------------

    def run(self) -> int:
        from cloudstack_simulator import Simulator

        with tempfile.TemporaryDirectory(prefix="cpi-demo-") as tmp, Simulator(self.simulator_config) as sim:
            self.sim = sim
            self.config = self.write_config(Path(tmp))
            self.say(f"CloudStack {sim.config['cloudstack_version']} simulator at {sim.endpoint} "
                     f"({ZONES[self.hypervisor]}, plugin '{self.hypervisor}')", "bold")
            self.say(f"every step runs the real CPI process (cloudstack-cpi --config {self.config.name}, one JSON "
                     "request on stdin) with a config for this simulator, written to a temporary directory that "
                     "is removed at the end")
            if self.fault:
                self.inject(self.fault)
            baseline = _inventory_ids(sim.inventory())
            image = self.make_image(Path(tmp))
            self.lifecycle(image)
            leftovers = _leftovers(baseline, sim.inventory())
        self.summary(leftovers)
        failed = any(not s.ok and not s.skipped for s in self.steps) or self.stopped or leftovers
        return EXIT_FAILED if failed else EXIT_OK

    def inject(self, spec: str) -> None:
        command, _, count = spec.partition(":")
        n = int(count) if count.isdigit() else 1_000_000
        self.sim.faults.fail_next(command, n=n, errortext=f"Fault injected by cloudstack-cpi demo into {command}")
        self.say(f"fault injected: {command} fails" + (f" {n} time(s)" if count else ""), "yellow")

    def write_config(self, directory: Path) -> Path:
        """The job properties a BOSH manifest would set, pointing at the simulator."""
        sim = self.sim
        config = {
            "cloudstack": {"endpoint": sim.endpoint, "api_key": sim.api_key, "secret_access_key": sim.secret_key,
                           "default_zone": ZONES[self.hypervisor], "hypervisor": self.hypervisor,
                           "default_key_name": "bosh-key", "timeouts": {"default": 60}},
            "cpi": {"default_disk_offering": "disk-custom", "default_ephemeral_disk_offering": "disk-custom",
                    "agent": {"mbus": f"nats://nats:{DEMO_PASSWORD}@10.0.0.6:4222"}, "ntp": ["0.pool.ntp.org"],
                    "blobstore": {"provider": "dav", "address": "10.0.0.6", "port": 25250,
                                  "agent": {"user": "agent", "password": DEMO_PASSWORD}}},
        }
        path = directory / "cpi.json"
        path.write_text(json.dumps(config, indent=2))
        return path

    def make_image(self, directory: Path) -> Path:
        """A tiny stand-in for the stemcell's root image, in the plugin's format."""
        from cpi_framework.plugin_system.host import PluginHost

        plugins = PluginHost(self.hypervisor)
        fmt = plugins.stemcell_formats[0] if plugins.stemcell_formats else "cloudstack-raw"
        self.stemcell_props = {
            "name": f"bosh-cloudstack-{self.hypervisor}-ubuntu-jammy-go_agent", "version": "1.0-demo",
            "infrastructure": fmt.split("-", 1)[0], "hypervisor": self.hypervisor,
            "disk_format": fmt.split("-", 1)[-1], "architecture": "x86_64", "os_type": "linux",
        }
        path = directory / "image"
        path.write_bytes(_image_bytes(fmt.split("-", 1)[-1]))
        return path

    def call(self, method: str, *args: Any, needs: tuple[str, ...] = (), why: str = "") -> Step:
        step = Step(len(self.steps) + 1, method, list(args))
        self.steps.append(step)
        missing = [n for n in needs if n not in self.values]
        if self.stopped or missing:
            step.skipped = "stopped after a failure" if self.stopped else f"needs {', '.join(missing)}"
            self.say(f"{step.number:2}. {method}: skipped ({step.skipped})", "yellow")
            return step
        self.say("")
        self.say(f"{step.number:2}. {method}({', '.join(_short_arg(a) for a in args)})", "bold")
        if why:
            self.explain(why)
        request = {"method": method, "arguments": list(args), "api_version": API_VERSION,
                   "context": {"director_uuid": self.director_uuid, "request_id": f"demo-{step.number}",
                               "vm": {"stemcell": {"api_version": 2}}}}
        before = len(self.sim.request_log())
        started = time.monotonic()
        try:
            response, _stderr = run_cpi(request, str(self.config), timeout=300)
        except ToolError as exc:
            response = {"result": None, "error": {"type": "demo", "message": str(exc)}}
        step.seconds = time.monotonic() - started
        step.requests = Counter(r["command"] for r in self.sim.request_log()[before:])
        step.error, step.result = response.get("error"), response.get("result")
        step.ok = step.error is None
        cost = ", ".join(f"{c} ×{n}" if n > 1 else c for c, n in step.requests.items()) or "none"
        if step.ok:
            self.say(f"   → {abbreviate(step.result, 100)}", "green")
        else:
            self.say(f"   ✗ {step.error.get('type')}: {step.error.get('message')}", "red")
            self.stopped = not self.keep_going
        self.explain(f"{step.seconds:.2f}s, {sum(step.requests.values())} CloudStack request(s): {cost}")
        return step

    def keep(self, name: str, step: Step, value: Any = None) -> None:
        if step.ok:
            self.values[name] = step.result if value is None else value

    # -- the lifecycle -------------------------------------------------------------------------

    def lifecycle(self, image: Path) -> None:
        v = self.values
        self.call("info", why="what this CPI supports; answered without touching the cloud")
        step = self.call("create_stemcell", str(image), self.stemcell_props,
                         why="the director uploads the stemcell image: a CloudStack template, uploaded directly "
                             "(registered by URL on clouds without direct upload, before 4.6)")
        self.keep("stemcell", step)
        networks = {"default": {"type": "dynamic", "cloud_properties": {"name": "bosh-net"},
                                "default": ["dns", "gateway"], "dns": ["10.0.0.2"]}}
        step = self.call("create_vm", f"agent-{uuid.uuid4().hex[:8]}", v.get("stemcell"),
                         {"compute_offering": "small", "disk": 4096}, networks, [], {"bosh": {"group": "demo-zk"}},
                         needs=("stemcell",), why="a VM with a dynamic network and a 4 GB ephemeral disk; "
                         "its agent settings travel as user data")
        if step.ok:
            self.keep("vm", step, step.result[0] if isinstance(step.result, list) else step.result)
            self.show_guest("after create_vm")
        self.call("has_vm", v.get("vm"), needs=("vm",), why="the director checks the VM exists")
        self.call("set_vm_metadata", v.get("vm"), {"director": "demo", "deployment": "demo", "name": "zookeeper/0",
                                                    "job": "zookeeper", "index": "0"},
                  needs=("vm",), why="metadata become CloudStack tags (and the VM's display name)")
        step = self.call("create_disk", 3072, {}, v.get("vm"), needs=("vm",),
                         why="a 3 GB persistent disk in the VM's zone")
        self.keep("disk", step)
        step = self.call("attach_disk", v.get("vm"), v.get("disk"), needs=("vm", "disk"),
                         why="attached; the answer is the hint the agent uses to find the device")
        if step.ok:
            self.show_guest("after attach_disk", disk=v.get("disk"))
        step = self.call("snapshot_disk", v.get("disk"), {"deployment": "demo"}, needs=("disk",),
                         why="a CloudStack volume snapshot, tagged with the metadata")
        self.keep("snapshot", step)
        self.call("delete_snapshot", v.get("snapshot"), needs=("snapshot",))
        self.call("detach_disk", v.get("vm"), v.get("disk"), needs=("vm", "disk"))
        self.call("delete_vm", v.get("vm"), needs=("vm",),
                  why="stop, detach, delete the ephemeral disk, destroy and expunge, then read back")
        self.call("delete_disk", v.get("disk"), needs=("disk",))
        self.call("delete_stemcell", v.get("stemcell"), needs=("stemcell",))

    def show_guest(self, when: str, disk: str | None = None) -> None:
        """What the stemcell's agent would read inside the VM (from the simulator's model)."""
        from cpi_framework.logs import Redactor

        try:
            view = self.sim.guest_view(self.values["vm"])
        except KeyError:
            return
        source = "" if disk else f": settings via {view.get('user_data_source')}"
        self.explain(f"inside the VM ({when}){source}")
        redactor = Redactor([DEMO_PASSWORD])
        try:
            settings = json.loads(view.get("user_data") or b"{}")
        except ValueError:
            settings = None
        if disk is not None:
            pass  # the settings did not change; only the new device matters
        elif isinstance(settings, dict):
            net = (settings.get("networks") or {}).get("default") or {}
            # the agent's own shape (settings.Settings), cut down: nested keys stay nested
            excerpt = {"agent_id": settings.get("agent_id"), "disks": settings.get("disks"),
                       "networks": {"default": {k: net.get(k) for k in ("type", "ip", "mac") if k in net}},
                       "mbus": settings.get("mbus")}
            self.explain("user data (excerpt): " + redactor.redact(abbreviate(excerpt, 320)))
        elif view.get("user_data"):  # a plugin's own encoding: show its start
            self.explain("user data: " + redactor.redact(repr(view["user_data"][:120])))
        for item in view.get("disks") or []:
            if disk is None or item.get("volume_id") == disk:
                extra = {k: item[k] for k in ("by_id", "scsi", "serial") if k in item}
                label = "persistent disk" if disk else "system disk" if item.get("type") == "ROOT" else "ephemeral disk"
                self.explain(f"{label} {item.get('volume_id')}: device {item.get('path')} "
                             f"(deviceid {item.get('deviceid')}){' ' + abbreviate(extra, 120) if extra else ''}")

    # -- the end -------------------------------------------------------------------------------

    def summary(self, leftovers: list[str]) -> None:
        rows = [{"#": s.number, "method": s.method,
                 "outcome": "skipped" if s.skipped else "ok" if s.ok else "FAILED",
                 "seconds": "" if s.skipped else f"{s.seconds:.2f}",
                 "requests": "" if s.skipped else sum(s.requests.values())} for s in self.steps]
        self.say("")
        self.say(format_table(rows, ["#", "method", "outcome", "seconds", "requests"]))
        total = Counter[str]()
        for s in self.steps:
            total.update(s.requests)
        self.say(f"{sum(total.values())} CloudStack requests in all; busiest: "
                 + ", ".join(f"{c} {n}" for c, n in total.most_common(4)))
        if leftovers:
            self.say("left in the cloud by the CPI: " + "; ".join(leftovers), "red")
            if self.stopped:
                self.explain("the run stopped at the failure, so later deletes never ran; on a real cloud "
                             "'cloudstack-cpi orphans' finds such leftovers")
        else:
            self.say("the simulator holds nothing the CPI made: nothing leaked", "green")
        failed = [s for s in self.steps if not s.ok and not s.skipped]
        if failed:
            self.say(f"{len(failed)} step(s) failed: {', '.join(s.method for s in failed)}", "red")
        elif not leftovers:
            self.say("every step succeeded", "green")


# -- helpers -----------------------------------------------------------------------------------


def _short_arg(value: Any) -> str:
    if isinstance(value, str) and os.sep in value:
        return repr(os.path.basename(value))
    return abbreviate(value, 60)


def _image_bytes(disk_format: str) -> bytes:
    """A few hundred KiB shaped like the format (the simulator checks names, not content)."""
    body = b"\0" * (256 * 1024)
    if disk_format in {"vhd", "vhdx"}:  # a VHD footer, bzip2-compressed like the .vhd.bz2 upload
        return bz2.compress(body + b"conectix" + b"\0" * 504)
    if disk_format == "qcow2":
        return b"QFI\xfb\0\0\0\3" + body
    if disk_format == "ova":
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for name, data in (("image.ovf", b"<Envelope/>"), ("image-disk1.vmdk", b"KDMV" + body)):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        return buffer.getvalue()
    return body


_COUNTED = ("virtualmachines", "volumes", "templates", "snapshots", "tags", "affinitygroups", "publicips")
_GONE = {"Destroyed", "Expunging", "Expunged", "Destroy"}


def _inventory_ids(inventory: dict[str, Any]) -> dict[str, set[str]]:
    return {kind: {_key(i) for i in inventory.get(kind) or [] if i.get("state") not in _GONE} for kind in _COUNTED}


def _key(item: dict[str, Any]) -> str:
    if "id" in item:
        return str(item["id"])
    return f"{item.get('resourceid')}:{item.get('key')}"  # tags have no id of their own


def _leftovers(baseline: dict[str, set[str]], inventory: dict[str, Any]) -> list[str]:
    """What the run added to the cloud and did not remove, per kind (a few ids each)."""
    after = _inventory_ids(inventory)
    found = []
    for kind in _COUNTED:
        new = sorted(after[kind] - baseline[kind])
        if new:
            shown = "" if kind == "tags" else ": " + ", ".join(new[:3]) + (" …" if len(new) > 3 else "")
            found.append(f"{len(new)} {kind}{shown}")
    return found


def main(argv: list[str]) -> int:
    parser = make_parser(
        "demo", "Run a full CPI lifecycle against the embedded CloudStack simulator, step by step.",
        epilog="Steps: info, create_stemcell, create_vm, has_vm, set_vm_metadata, create_disk, attach_disk,\n"
               "snapshot_disk, delete_snapshot, detach_disk, delete_vm, delete_disk, delete_stemcell.\n"
               "Exit status: 0 when every step succeeded and nothing was left behind, else 1.",
    )
    parser.add_argument("--hypervisor", choices=sorted(ZONES), default="xen",
                        help="the hypervisor plugin (and simulator zone) to use (default xen)")
    parser.add_argument("--keep-going", action="store_true", help="run the remaining steps after a failure")
    parser.add_argument("--simulator-config", metavar="PATH", default=None,
                        help="simulator config (YAML/JSON, or a bundled example such as cloudstack-4.5.yml to "
                             "model that CloudStack version); the CPI config stays the same")
    parser.add_argument("--inject-fault", metavar="COMMAND[:N]", default=None, help=argparse_suppress())
    args = parser.parse_args(argv)

    def body() -> int:
        fault = args.inject_fault or os.environ.get(FAULT_ENV) or None
        return Demo(args.hypervisor, keep_going=args.keep_going, fault=fault, out=sys.stdout,
                    simulator_config=args.simulator_config).run()

    return run_tool(body)


def argparse_suppress() -> str:
    import argparse

    return argparse.SUPPRESS
