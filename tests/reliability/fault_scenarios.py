"""The fault matrix's building blocks: one scenario per CPI method, the failure kinds, and the
in-process runner. Kept apart from the test module so ``bench/soak.py`` can reuse them.

A scenario knows how to set up what its method needs (through the CPI itself), the call to
make, and what a failed call may leave changed ("strict": nothing; "converge": partial
progress allowed, an identical retry must finish the job). The commands each method issues
are not listed here: :func:`discover` runs each scenario cleanly and reads them from the
simulator's request log.
"""

from __future__ import annotations

import bz2
import contextlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reliability_support import check_response, fingerprint

from cloudstack_simulator.commands import COMMANDS
from cpi_framework import cli
from cpi_framework.testing.contract import STEMCELL_CONTEXT, dynamic

THROTTLE_TEXT = "The given user has reached his/her account api limit, please retry after 50 ms."


# -- failure kinds ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    name: str
    inject: Callable[[Any, str], None]
    async_only: bool = False
    transient: bool = False  # create_vm must answer ok_to_retry true
    must_succeed: bool = False  # the CPI is expected to absorb it


KINDS = [
    Kind("api_error", lambda sim, cmd: sim.faults.fail_next(cmd, errorcode=431, errortext="Simulated parameter error")),
    Kind("http_5xx", lambda sim, cmd: sim.faults.fail_next(cmd, errorcode=530, errortext="Simulated server error",
                                                           http_status=503), transient=True),
    Kind("connection_drop", lambda sim, cmd: sim.faults.drop_connections(cmd), transient=True),
    Kind("job_failure", lambda sim, cmd: sim.faults.fail_jobs(cmd, errortext="Simulated job failure"),
         async_only=True),
    Kind("job_never_finishes", lambda sim, cmd: sim.faults.hang_jobs(cmd), async_only=True, transient=True),
    Kind("throttle_storm", lambda sim, cmd: sim.faults.fail_next(cmd, n=6, errorcode=429, errortext=THROTTLE_TEXT,
                                                                 http_status=429), must_succeed=True),
]
KIND_BY_NAME = {k.name: k for k in KINDS}


def is_async(command: str) -> bool:
    entry = COMMANDS.get(command)
    return bool(entry and entry.is_async)


def kinds_for(command: str) -> list[Kind]:
    return [k for k in KINDS if is_async(command) or not k.async_only]


# -- running the CPI in-process --------------------------------------------------------------------------


def run(config: Path, method: str, *args: Any, context: dict[str, Any] | None = None) -> dict[str, Any]:
    """``cli.run_rpc`` exactly as the process runs it; the response is schema-checked."""
    raw = json.dumps({"method": method, "arguments": list(args), "api_version": 2,
                      "context": context or STEMCELL_CONTEXT}).encode()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        reply = cli.run_rpc(raw, str(config))
    assert out.getvalue() == "", "a method wrote to stdout"
    return check_response(json.loads(json.dumps(reply, default=str)))


def ok(config: Path, method: str, *args: Any) -> Any:
    document = run(config, method, *args)
    assert document["error"] is None, f"setup {method}: {document['error']}\n{document['log'][-1500:]}"
    return document["result"]


# -- scenarios ----------------------------------------------------------------------------------------------


@dataclass
class Scenario:
    method: str
    setup: Callable[[Any, Path, Path], tuple[Any, ...]]
    mode: str = "strict"  # strict | converge
    retry_may_answer: frozenset[str] = frozenset()
    clean_shape: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)


def template_id(sim: Any) -> str:
    return next(t["id"] for t in sim.inventory()["templates"] if t["name"] == "bosh-stemcell-xen")


def new_vm(sim: Any, config: Path) -> str:
    result = ok(config, "create_vm", "agent-fault", template_id(sim), {"compute_offering": "small", "disk": 1024},
                {"default": dynamic(default=["dns", "gateway"])}, [], {"bosh": {"group": "fault"}})
    return str(result[0])


def new_disk(config: Path, vm: str | None = None) -> str:
    return str(ok(config, "create_disk", 2048, {}, vm))


def image(tmp: Path) -> Path:
    path = tmp / "image"
    if not path.exists():
        path.write_bytes(bz2.compress(bytes(1 << 16)))
    return path


STEMCELL_PROPS = {"name": "bosh-cloudstack-xen-ubuntu-jammy-go_agent", "version": "1.181",
                  "infrastructure": "cloudstack", "hypervisor": "xen", "architecture": "x86_64", "os_type": "linux",
                  "disk": 5120, "disk_format": "vhdx", "container_format": "bare"}


def _attached(sim: Any, config: Path) -> tuple[str, str]:
    vm = new_vm(sim, config)
    disk = new_disk(config, vm)
    ok(config, "attach_disk", vm, disk)
    return vm, disk


NOT_FOUND_ON_RETRY = {"Bosh::Clouds::VMNotFound"}

SCENARIOS: list[Scenario] = [
    Scenario("create_vm", lambda sim, cfg, tmp: ("agent-fault", template_id(sim),
                                                 {"compute_offering": "small", "disk": 1024},
                                                 {"default": dynamic(default=["dns", "gateway"])}, [],
                                                 {"bosh": {"group": "fault"}})),
    Scenario("delete_vm", lambda sim, cfg, tmp: (_attached(sim, cfg)[0],), mode="converge",
             retry_may_answer=frozenset(NOT_FOUND_ON_RETRY)),
    Scenario("has_vm", lambda sim, cfg, tmp: (new_vm(sim, cfg),)),
    Scenario("reboot_vm", lambda sim, cfg, tmp: (new_vm(sim, cfg),), mode="converge"),
    Scenario("set_vm_metadata", lambda sim, cfg, tmp: (new_vm(sim, cfg), {"director": "d", "deployment": "dep",
                                                                          "name": "web/0", "index": "0"}),
             mode="converge"),
    Scenario("create_disk", lambda sim, cfg, tmp: (2048, {}, None)),
    Scenario("delete_disk", lambda sim, cfg, tmp: (new_disk(cfg),), mode="converge",
             retry_may_answer=frozenset({"Bosh::Clouds::DiskNotFound"})),
    Scenario("has_disk", lambda sim, cfg, tmp: (new_disk(cfg),)),
    Scenario("attach_disk", lambda sim, cfg, tmp: (new_vm(sim, cfg), new_disk(cfg))),
    Scenario("detach_disk", lambda sim, cfg, tmp: _attached(sim, cfg)),
    Scenario("get_disks", lambda sim, cfg, tmp: (_attached(sim, cfg)[0],)),
    Scenario("set_disk_metadata", lambda sim, cfg, tmp: (new_disk(cfg), {"deployment": "dep", "instance_index": "0"}),
             mode="converge"),
    # a resize whose job answer is lost cannot be undone (no shrinking): the retry converges
    Scenario("resize_disk", lambda sim, cfg, tmp: (new_disk(cfg), 4096), mode="converge"),
    Scenario("snapshot_disk", lambda sim, cfg, tmp: (_attached(sim, cfg)[1], {"deployment": "dep", "index": 0})),
    Scenario("delete_snapshot", lambda sim, cfg, tmp: (ok(cfg, "snapshot_disk", _attached(sim, cfg)[1], {}),),
             mode="converge"),
    Scenario("create_stemcell", lambda sim, cfg, tmp: (str(image(tmp)), dict(STEMCELL_PROPS))),
    Scenario("delete_stemcell", lambda sim, cfg, tmp: (ok(cfg, "create_stemcell", str(image(tmp)),
                                                          dict(STEMCELL_PROPS)),), mode="converge"),
    Scenario("calculate_vm_cloud_properties", lambda sim, cfg, tmp: ({"cpu": 2, "ram": 2048,
                                                                       "ephemeral_disk_size": 4096},)),
]
SCENARIO_BY_METHOD = {s.method: s for s in SCENARIOS}


# -- state shapes ---------------------------------------------------------------------------------------------


def shape(before: dict[str, frozenset], after: dict[str, frozenset]) -> dict[str, tuple[int, int, int]]:
    """Per kind: (objects added, removed, changed) - comparable across runs whose ids differ."""
    out = {}
    for kind in sorted(set(before) | set(after)):
        old = {row[0]: row for row in before.get(kind, frozenset())}
        new = {row[0]: row for row in after.get(kind, frozenset())}
        if kind == "tags":
            old_rows, new_rows = before.get(kind, frozenset()), after.get(kind, frozenset())
            counts = (len(new_rows - old_rows), len(old_rows - new_rows), 0)
        else:
            changed = sum(1 for key in set(old) & set(new) if old[key] != new[key])
            counts = (len(set(new) - set(old)), len(set(old) - set(new)), changed)
        if counts != (0, 0, 0):
            out[kind] = counts
    return out


def discover(sim: Any, config: Path, tmp: Path, scenario: Scenario) -> None:
    """Run the scenario cleanly: the commands it issues (in order, unique) and its state shape."""
    sim.reset(log=True, faults=True, state=True)
    args = scenario.setup(sim, config, tmp)
    before = fingerprint(sim.inventory())
    sim.reset_log()
    document = run(config, scenario.method, *args)
    assert document["error"] is None, f"clean {scenario.method}: {document['error']}"
    commands: list[str] = []
    for entry in sim.request_log():
        command = entry.get("command")
        if command and command in COMMANDS and command not in commands:
            commands.append(command)
    scenario.commands = commands
    scenario.clean_shape = shape(before, fingerprint(sim.inventory()))
