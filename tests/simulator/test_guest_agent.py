"""The virtual router's metadata endpoint and the optional per-VM guest agent processes.

The real bosh-agent runs against them in the e2e tier (tests/e2e, ``bash scripts/e2e``);
here a stand-in script plays the agent so the process lifecycle is checked in the fast tier.
"""

from __future__ import annotations

import base64
import json
import stat
import sys
import time
from pathlib import Path

import pytest
import requests

from cloudstack_simulator import Simulator
from cloudstack_simulator.config import ConfigError, load_config


def _get(sim: Simulator, path: str, guest: str | None) -> requests.Response:
    headers = {"X-Forwarded-For": guest} if guest else {}
    return requests.get(sim.base_url + path, headers=headers, timeout=10)


def test_metadata_endpoint_answers_for_the_guest_by_address(cs) -> None:
    settings = {"agent_id": "agent-1", "mbus": "https://mbus:pw@10.0.1.20:6868"}
    vm = cs.deploy(ipaddress="10.0.1.20", userdata=base64.b64encode(json.dumps(settings).encode()).decode())
    user_data = _get(cs.sim, "/latest/user-data", "10.0.1.20")
    assert user_data.status_code == 200 and json.loads(user_data.content) == settings   # served decoded
    assert _get(cs.sim, "/latest/meta-data/instance-id", "10.0.1.20").text == vm["id"]
    assert _get(cs.sim, "/latest/meta-data/local-ipv4", "10.0.1.20").text == "10.0.1.20"
    assert "instance-id" in _get(cs.sim, "/latest/meta-data/", "10.0.1.20").text.split("\n")
    # another address, or no VM at the client's own (127.0.0.1): nothing is served
    assert _get(cs.sim, "/latest/user-data", "10.0.1.21").status_code == 404
    assert _get(cs.sim, "/latest/user-data", None).status_code == 404
    cs.job("stopVirtualMachine", id=vm["id"])
    assert _get(cs.sim, "/latest/user-data", "10.0.1.20").status_code == 404     # a stopped guest asks nothing


def test_guest_agent_config_keys_are_checked() -> None:
    assert load_config()["guest_agent"] == {"binary": None, "work_dir": None}   # off by default
    with pytest.raises(ConfigError, match="guest_agent.bianry"):
        load_config({"guest_agent": {"bianry": "/bin/true"}})


def _fake_agent(tmp_path: Path) -> Path:
    """Records its arguments and the user-data it reads from the endpoint, then sleeps like an agent."""
    script = tmp_path / "fake-agent"
    script.write_text(f"""#!{sys.executable}
import json, sys, time, urllib.request
args = sys.argv[1:]
config = json.load(open(args[args.index("-C") + 1]))
source = config["Infrastructure"]["Settings"]["Sources"][0]
request = urllib.request.Request(source["URI"] + source["UserDataPath"], headers=source["Headers"])
data = urllib.request.urlopen(request, timeout=5).read().decode()
base = args[args.index("-b") + 1]
open(base + "/seen.json", "w").write(json.dumps({{"args": args, "user_data": data}}))
time.sleep(60)
""", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def _wait_for(path: Path, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"the agent wrote no {path}"
        time.sleep(0.05)
    time.sleep(0.05)
    return json.loads(path.read_text(encoding="utf-8"))


def test_a_running_vm_gets_an_agent_that_reads_its_user_data(make_sim, tmp_path: Path) -> None:
    cs = make_sim({"guest_agent": {"binary": str(_fake_agent(tmp_path)), "work_dir": str(tmp_path / "agents")}})
    vm = cs.deploy(ipaddress="10.0.1.30", userdata=base64.b64encode(b'{"agent_id": "a-30"}').decode())
    assert list(cs.sim.guest_agents()) == [vm["id"]]
    seen = _wait_for(cs.sim.guest_agent_dir(vm["id"]) / "seen.json")
    assert seen["user_data"] == '{"agent_id": "a-30"}'
    assert seen["args"][:4] == ["-P", "dummy", "-M", "dummy"]
    pid = cs.sim.guest_agents()[vm["id"]]
    cs.job("rebootVirtualMachine", id=vm["id"])          # a reboot restarts the guest's agent
    assert cs.sim.guest_agents()[vm["id"]] != pid
    cs.job("stopVirtualMachine", id=vm["id"])
    assert cs.sim.guest_agents() == {}
    cs.job("startVirtualMachine", id=vm["id"])
    assert list(cs.sim.guest_agents()) == [vm["id"]]
    cs.job("destroyVirtualMachine", id=vm["id"], expunge=True)
    assert cs.sim.guest_agents() == {}
