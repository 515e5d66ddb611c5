"""Throttling (HTTP 429 / "api limit" errors): wait and retry within the deadline, for any command."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from cs_fakes import NOW, FakeApi, FakeTime

from cpi_framework.cloudstack import CloudStackClient, Throttled

LIMIT_TEXT = "The given user has reached his/her account api limit, please retry after [{ms}] ms."


def throttled(command: str, ms: int | None = None, headers: dict[str, str] | None = None) -> tuple:
    text = LIMIT_TEXT.format(ms=ms) if ms is not None else "api limit exceeded"
    body = {f"{command.lower()}response": {"errorcode": 429, "cserrorcode": 4545, "errortext": text}}
    return (429, body, {"Content-Type": "application/json", **(headers or {})})


def test_429_storm_then_success_backs_off_doubling(
    api: FakeApi, make_client, fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(now=lambda: NOW + timedelta(seconds=fake_time.now))
    caplog.set_level(logging.INFO, logger="cpi.cloudstack")
    storm = [throttled("deployVirtualMachine")] * 7
    api.on("deployVirtualMachine", *storm, {"deployvirtualmachineresponse": {"jobid": "j", "id": "vm"}})
    assert client.call("deployVirtualMachine", {"zoneid": "z"}) == {"jobid": "j", "id": "vm"}
    assert fake_time.sleeps == [1, 2, 4, 8, 16, 30, 30]
    assert len(api.calls) == 8  # a mutation is retried: the server rejected it before executing it
    assert client.stats.throttled == 7 and client.stats.wait_seconds == sum(fake_time.sleeps)
    assert caplog.text.count("CloudStack throttled deployVirtualMachine") == 7
    # every attempt is signed afresh with a new expiry
    assert len({c.params["expires"] for c in api.calls}) == 8
    assert len({c.params["signature"] for c in api.calls}) == 8


def test_retry_after_hint_in_text_is_used(api: FakeApi, client: CloudStackClient, fake_time: FakeTime) -> None:
    api.on("listZones", throttled("listZones", ms=700), {"listzonesresponse": {}})
    client.call("listZones")
    assert fake_time.sleeps == [0.7]


def test_retry_after_header_wins(api: FakeApi, client: CloudStackClient, fake_time: FakeTime) -> None:
    api.on("listZones", throttled("listZones", ms=700, headers={"Retry-After": "3"}), {"listzonesresponse": {}})
    client.call("listZones")
    assert fake_time.sleeps == [3.0]


def test_plain_429_without_json_is_throttling(api: FakeApi, client: CloudStackClient, fake_time: FakeTime) -> None:
    api.on("listZones", (429, "Too Many Requests", {"Content-Type": "text/plain"}), {"listzonesresponse": {}})
    assert client.call("listZones") == {}
    assert fake_time.sleeps == [1.0]


def test_limit_text_with_other_status_is_throttling(api: FakeApi, client: CloudStackClient) -> None:
    body = {"listzonesresponse": {"errorcode": 530, "errortext": LIMIT_TEXT.format(ms=100)}}
    api.on("listZones", (530, body), {"listzonesresponse": {}})
    assert client.call("listZones") == {}


def test_throttled_until_deadline_raises_throttled(api: FakeApi, make_client, fake_time: FakeTime) -> None:
    client = make_client(job_timeout=60)
    api.on("createTags", throttled("createTags"))
    with pytest.raises(Throttled) as info:
        client.call("createTags", {"resourceids": "v"})
    assert fake_time.now == pytest.approx(60)  # the deadline is the job timeout, never passed
    assert sum(fake_time.sleeps) == pytest.approx(60)
    assert info.value.errorcode == 429 and info.value.waited == pytest.approx(60)
    assert "still throttled after waiting 60.0s" in str(info.value)
    assert str(info.value).startswith("createTags: api limit exceeded (errorcode 429)")


def test_throttle_deadline_is_capped_at_20_minutes(api: FakeApi, make_client, fake_time: FakeTime) -> None:
    client = make_client(job_timeout=7200)
    api.on("listZones", throttled("listZones"))
    with pytest.raises(Throttled):
        client.call("listZones")
    assert fake_time.now == pytest.approx(1200)


def test_resource_limit_exceeded_is_not_throttling(api: FakeApi, client: CloudStackClient) -> None:
    text = "Maximum number of resources of type 'volume' for account name=a has been exceeded."
    api.on("createVolume", (532, {"createvolumeresponse": {"errorcode": 532, "errortext": text}}))
    with pytest.raises(Exception) as info:
        client.call("createVolume")
    assert not isinstance(info.value, Throttled)
    assert len(api.calls) == 1


def test_throttle_waits_are_spread_but_never_shorter(api: FakeApi, make_client, fake_time: FakeTime) -> None:
    """Many CPI processes throttled at once must not come back in lockstep."""
    client = make_client(jitter=lambda: 0.5)
    api.on("listZones", throttled("listZones"), throttled("listZones", headers={"Retry-After": "2"}),
           {"listzonesresponse": {}})
    client.call("listZones")
    assert fake_time.sleeps == pytest.approx([1.0 * 1.25, 2.0 * 1.25])  # never earlier than asked
