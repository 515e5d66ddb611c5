"""Second opinions from the real bosh-agent (:mod:`.agent_oracle`) on what :mod:`.checks` judged.

:func:`judge_disk` puts a hint to the agent's resolvers beside the Python model's verdict;
:func:`judge_settings` has the stemcell's settings source read the user-data and configure the
interfaces by MAC. Each raises ``AssertionError`` naming what the agent saw when it disagrees,
and does nothing when the oracle cannot run here (the contract suite's
``test_agent_oracle_runs`` reports that, and fails under ``CI=true``).
"""

from __future__ import annotations

from typing import Any

from .agent_oracle import CLOUDSTACK_CONFIG_DRIVE_SOURCES, STEMCELL_AGENT_CONFIGS, get_oracle

SETTINGS_SOURCES = {
    "virtual-router": ("the CloudStack stemcell's HTTP source", STEMCELL_AGENT_CONFIGS["cloudstack"]["sources"]),
    "configdrive": ("a ConfigDrive source on CloudStack's openstack/latest/user_data", CLOUDSTACK_CONFIG_DRIVE_SOURCES),
}
"""Which agent settings source reads a VM's user-data, by the guest view's ``user_data_source``."""

NETWORK_FIELDS = {"type": "", "ip": "", "netmask": "", "gateway": "", "mac": "", "prefix": "", "use_dhcp": False,
                  "default": [], "dns": []}
"""``boshsettings.Network`` fields compared, with the value the agent has when the key is absent."""


def _log_tail(answer: dict[str, Any], lines: int = 12) -> str:
    log = [line for line in str(answer.get("log") or "").splitlines() if line.strip()]
    return "\n    ".join(log[-lines:])


def _said(answer: dict[str, Any]) -> str:
    seen = answer.get("disk_settings")
    head = f"disk settings {seen}: " if seen else ""
    if answer.get("ok"):
        return f"{head}resolved to {answer['path']} (volume {answer['volume_id']})"
    return f"{head}{answer.get('error')}"


def judge_disk(view: dict[str, Any], vm_cid: str, cid: str, hint: Any, resolvers: tuple[str, ...],
               model_volume: str | None, model_error: str | None) -> str:
    """The agent's resolvers must reach ``model_volume`` (or fail where the model fails).

    Returns what the agent said, as a suffix for the caller's own failure message (``""``
    without the oracle)."""
    oracle = get_oracle()
    if oracle is None:
        return ""
    what = f"disk {cid or '(ephemeral)'} of VM {vm_cid}, hint {hint!r}"
    answers = {name: oracle.resolve(name, cid, hint, view, ephemeral=not cid) for name in resolvers}
    reached = {name: a.get("volume_id") if a.get("ok") else None for name, a in answers.items()}
    agent_volume = next(iter(set(reached.values()))) if len(set(reached.values())) == 1 else None
    told = "\n  ".join(f"{name}: {_said(a)}\n    {_log_tail(a)}" for name, a in answers.items())
    if agent_volume == model_volume:
        return f"\nthe bosh-agent ({oracle.agent}) agrees; its resolvers say\n  {told}"
    model = f"reaches volume {model_volume}" if model_volume else f"fails: {model_error}"
    raise AssertionError(f"the bosh-agent ({oracle.agent}) disagrees with the agent model on {what}: the model "
                         f"{model}; the agent's resolvers say\n  {told}\nguest disks {view.get('disks')}")


def _nics(sim: Any, vm_cid: str) -> list[dict[str, str]] | None:
    inventory = getattr(sim, "inventory", None)
    if inventory is None:
        return None
    vm = next((v for v in inventory()["virtualmachines"] if v["id"] == vm_cid), None)
    if vm is None:
        return None
    return [{"mac": n["macaddress"], "name": f"eth{n.get('deviceid', i)}", "ip": n.get("ipaddress", "")}
            for i, n in enumerate(sorted(vm.get("nic") or [], key=lambda n: int(n.get("deviceid", 0))))]


def _differences(agent: dict[str, Any], written: dict[str, Any]) -> list[str]:
    diffs = []
    for key, default in (("agent_id", ""), ("mbus", ""), ("ntp", [])):
        if (agent.get(key) or default) != (written.get(key) or default):
            diffs.append(f"{key}: agent {agent.get(key)!r}, user-data {written.get(key)!r}")
    agent_disks, disks = agent.get("disks") or {}, written.get("disks") or {}
    for key in ("system", "ephemeral"):
        if agent_disks.get(key) != disks.get(key):
            diffs.append(f"disks.{key}: agent {agent_disks.get(key)!r}, user-data {disks.get(key)!r}")
    provider = (written.get("blobstore") or {}).get("provider", "")
    if (agent.get("blobstore") or {}).get("provider", "") != provider:
        diffs.append(f"blobstore.provider: agent {agent.get('blobstore')!r}, user-data {provider!r}")
    agent_nets, nets = agent.get("networks") or {}, written.get("networks") or {}
    if set(agent_nets) != set(nets):
        diffs.append(f"networks: agent {sorted(agent_nets)}, user-data {sorted(nets)}")
    for name in set(agent_nets) & set(nets):
        for field, default in NETWORK_FIELDS.items():
            mine, theirs = agent_nets[name].get(field) or default, nets[name].get(field) or default
            if mine != theirs:
                diffs.append(f"networks.{name}.{field}: agent {mine!r}, user-data {theirs!r}")
    return diffs


def _interface_problems(answer: dict[str, Any], settings: dict[str, Any], nics: list[dict[str, str]]) -> list[str]:
    """Each network with a MAC lands on the NIC with that MAC; a static address is that NIC's CloudStack IP."""
    if answer.get("interfaces_error"):
        return [f"configuring interfaces by MAC {nics}: {answer['interfaces_error']}"]
    configured = answer.get("interfaces") or []
    by_name = {i["name"]: i for i in configured}
    nic_by_name = {n["name"]: n for n in nics}
    name_of = {n["mac"]: n["name"] for n in nics}
    problems = []
    for net_name, net in (settings.get("networks") or {}).items():
        if net.get("type") != "vip" and net.get("mac") and name_of.get(net["mac"]) not in by_name:
            problems.append(f"network {net_name} (MAC {net['mac']}) configures no interface: {configured}")
    for iface in configured:
        nic = nic_by_name.get(iface["name"])
        if nic is None:
            problems.append(f"the agent configures {iface['name']}, which the VM does not have (NICs {nics})")
        elif not iface["dhcp"] and iface["address"] != nic["ip"]:
            problems.append(f"the agent puts {iface['address']} on {iface['name']} (MAC {nic['mac']}), whose "
                            f"CloudStack address is {nic['ip']}")
    return problems


def judge_settings(sim: Any, vm_cid: str, view: dict[str, Any], written: dict[str, Any]) -> None:
    """The stemcell's settings source reads ``written`` (what :func:`.checks.guest_settings` decoded)
    the same way, and the agent configures each network on the NIC with its MAC."""
    source = SETTINGS_SOURCES.get(str(view.get("user_data_source")))
    oracle = get_oracle() if source else None
    if oracle is None or source is None:
        return
    nics = _nics(sim, vm_cid)
    answer = oracle.settings(view, source[1], nics or [])
    where = f"VM {vm_cid} through {source[0]}"
    if not answer.get("ok"):
        json_error = f" (its JSON decoding said: {answer['json_error']})" if answer.get("json_error") else ""
        raise AssertionError(f"the bosh-agent ({oracle.agent}) reads no settings from {where}: "
                             f"{answer.get('error')}{json_error}\n    {_log_tail(answer)}")
    problems = _differences(answer["settings"], written)
    if nics is not None:
        problems += _interface_problems(answer, answer["settings"], nics)
    if problems:
        raise AssertionError(f"the bosh-agent ({oracle.agent}) reads the settings of {where} differently:\n  "
                             + "\n  ".join(problems))
