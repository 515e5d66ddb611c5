"""Fixtures for the simulator's own tests: a fresh simulator and a small signed client."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from cloudstack_simulator import Simulator
from cloudstack_simulator.signing import sign

JOB_TIMEOUT = 10.0


class Client:
    """A minimal CloudStack client written for the tests (independent of the CPI's client)."""

    def __init__(self, sim: Simulator, session: requests.Session | None = None) -> None:
        self.sim = sim
        self.http = session or requests.Session()
        self.http.trust_env = False

    def params(self, command: str, **params: Any) -> dict[str, str]:
        p = {"command": command, "apikey": self.sim.api_key, "response": "json"}
        p.update({k: ("true" if v is True else "false" if v is False else str(v))
                  for k, v in params.items() if v is not None})
        p["signature"] = sign(p, self.sim.secret_key)
        return p

    def raw(self, command: str, method: str = "GET", **params: Any) -> requests.Response:
        p = self.params(command, **params)
        if method == "GET":
            return self.http.get(self.sim.endpoint, params=p, timeout=10)
        return self.http.post(self.sim.endpoint, data=p, timeout=10)

    def call(self, command: str, method: str = "GET", **params: Any) -> tuple[int, dict[str, Any]]:
        r = self.raw(command, method, **params)
        body = r.json()
        assert len(body) == 1, body
        return r.status_code, next(iter(body.values()))

    def ok(self, command: str, method: str = "GET", **params: Any) -> dict[str, Any]:
        status, body = self.call(command, method, **params)
        assert status == 200, (command, status, body)
        return body

    def error(self, command: str, method: str = "GET", **params: Any) -> tuple[int, str]:
        status, body = self.call(command, method, **params)
        assert status != 200, body
        assert body["errorcode"] == status
        return status, body["errortext"]

    def wait(self, jobid: str, timeout: float = JOB_TIMEOUT) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            job = self.ok("queryAsyncJobResult", jobid=jobid)
            if job["jobstatus"] != 0:
                return job
            if time.monotonic() > deadline:
                raise AssertionError(f"job {jobid} still pending after {timeout}s")
            time.sleep(0.05)

    def job(self, command: str, **params: Any) -> dict[str, Any]:
        """POST an async command and wait; returns the job (jobstatus 1 or 2)."""
        return self.wait(self.ok(command, "POST", **params)["jobid"])

    def result(self, command: str, **params: Any) -> dict[str, Any]:
        job = self.job(command, **params)
        assert job["jobstatus"] == 1, job
        return job["jobresult"]

    def one(self, command: str, key: str, **params: Any) -> dict[str, Any]:
        body = self.ok(command, **params)
        assert body.get("count") == 1, body
        return body[key][0]

    # -- inventory shortcuts ------------------------------------------------------------
    def zone(self, name: str = "zone-xen") -> str:
        return self.one("listZones", "zone", name=name)["id"]

    def offering(self, name: str = "small") -> str:
        return self.one("listServiceOfferings", "serviceoffering", name=name)["id"]

    def disk_offering(self, name: str = "disk-custom") -> str:
        return self.one("listDiskOfferings", "diskoffering", name=name)["id"]

    def network(self, zone_id: str, name: str = "bosh-net") -> str:
        return self.one("listNetworks", "network", zoneid=zone_id, name=name)["id"]

    def template(self, zone_id: str) -> str:
        return self.ok("listTemplates", templatefilter="executable", zoneid=zone_id)["template"][0]["id"]

    def deploy(self, zone: str = "zone-xen", wait: bool = True, **params: Any) -> dict[str, Any]:
        zid = self.zone(zone)
        args: dict[str, Any] = {"zoneid": zid, "serviceofferingid": self.offering(), "templateid": self.template(zid),
                                "networkids": self.network(zid)}
        args.update(params)
        created = self.ok("deployVirtualMachine", "POST", **args)
        if not wait:
            return created
        job = self.wait(created["jobid"])
        assert job["jobstatus"] == 1, job
        return job["jobresult"]["virtualmachine"]

    def volume(self, zone: str = "zone-xen", size: int = 1, **params: Any) -> dict[str, Any]:
        return self.result("createVolume", zoneid=self.zone(zone), diskofferingid=self.disk_offering(), size=size,
                           **params)["volume"]


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator() as s:
        yield s


@pytest.fixture
def cs(sim: Simulator) -> Iterator[Client]:
    client = Client(sim)
    yield client
    client.http.close()


@pytest.fixture
def make_sim() -> Iterator[Any]:
    """``make_sim(config) -> Client`` for a simulator with a custom config (closed after the test)."""
    opened: list[tuple[Simulator, Client]] = []

    def factory(config: Any = None, **kwargs: Any) -> Client:
        sim = Simulator(config, **kwargs).start()
        client = Client(sim)
        opened.append((sim, client))
        return client

    yield factory
    for sim, client in opened:
        client.http.close()
        sim.close()
