"""Async jobs: adaptive polling, failures, deadlines (fake clock, no sleeping), several jobs at once."""

from __future__ import annotations

import pytest
from cs_fakes import DROP, Call, FakeApi, FakeTime

from cpi_framework.cloudstack import (
    AsyncJob,
    AsyncJobFailed,
    AsyncJobTimeout,
    CloudStackClient,
    ParameterError,
    UnexpectedResponse,
    poll_interval,
)

VM = {"id": "vm-1", "name": "cpivm-1", "state": "Running"}


def job_server(api: FakeApi, fake_time: FakeTime, finish: dict[str, float], results: dict[str, dict] | None = None):
    """queryAsyncJobResult: job ``j`` is pending until ``finish[j]`` (fake seconds), then done."""
    results = results or {}

    def handler(call: Call) -> dict:
        job_id = call.params["jobid"]
        if fake_time.now < finish[job_id]:
            inner = {"jobid": job_id, "jobstatus": 0, "jobprocstatus": 0}
        else:
            inner = results.get(job_id) or {
                "jobid": job_id,
                "jobstatus": 1,
                "jobresultcode": 0,
                "jobresulttype": "object",
                "jobresult": {"virtualmachine": VM},
            }
        return {"queryasyncjobresultresponse": inner}

    api.on("queryAsyncJobResult", handler)


@pytest.mark.parametrize(("elapsed", "interval"), [(0, 0.14), (0.5, 0.14), (1.96, 0.14), (2.8, 0.2), (7, 0.5),
                                                   (28, 2.0), (600, 2.0)])
def test_poll_interval_is_a_fourteenth_of_elapsed_clamped(elapsed: float, interval: float) -> None:
    assert poll_interval(elapsed) == pytest.approx(interval)


def test_call_async_returns_jobresult(api: FakeApi, client: CloudStackClient, fake_time: FakeTime) -> None:
    api.on("deployVirtualMachine", {"deployvirtualmachineresponse": {"jobid": "j1", "id": "vm-1"}})
    job_server(api, fake_time, {"j1": 3.0})
    assert client.call_async("deployVirtualMachine", {"zoneid": "z"}, operation="create_vm") == {"virtualmachine": VM}
    assert api.calls[0].method == "POST"
    assert all(c.method == "GET" for c in api.calls[1:])
    assert client.stats.polls == len(api.calls) - 1
    assert client.stats.wait_seconds == pytest.approx(fake_time.now)


@pytest.mark.parametrize("finish", [0.05, 0.5, 2.0, 10.0, 45.0, 300.0])
def test_job_is_noticed_promptly_without_hammering(
    api: FakeApi, client: CloudStackClient, fake_time: FakeTime, finish: float
) -> None:
    job_server(api, fake_time, {"j": finish})
    client.wait(AsyncJob("j", "startVirtualMachine"))
    assert fake_time.now - finish <= max(0.14, finish / 13) + 1e-9  # < 0.2 s for jobs of up to 2 s
    assert all(0.1 - 1e-9 <= s <= 2.0 for s in fake_time.sleeps)
    # polls grow with elapsed time: 300 s of waiting costs far fewer polls than a 1 s fixed interval
    assert client.stats.polls <= 10 + finish / 2 + 30


def test_poll_schedule(api: FakeApi, client: CloudStackClient, fake_time: FakeTime) -> None:
    job_server(api, fake_time, {"j": 4.0})
    client.wait(AsyncJob("j", "createTags"))
    poll_times = [c.at for c in api.calls]
    gaps = [b - a for a, b in zip(poll_times, poll_times[1:], strict=False)]
    assert poll_times[0] == pytest.approx(0.1)
    assert gaps == pytest.approx([max(0.14, t / 14) for t in poll_times[:-1]])


@pytest.mark.parametrize(("finish", "old_polls", "new_polls"), [(0.5, 5, 4), (2.0, 17, 15)])
def test_short_jobs_cost_fewer_polls_than_the_tenth_law(
    api: FakeApi, client: CloudStackClient, fake_time: FakeTime, finish: float, old_polls: int, new_polls: int
) -> None:
    """The law of issue 18: short jobs noticed sooner and with fewer polls than a tenth of the time
    waited from 0.1 s (5 polls for 0.5 s, 17 for 2 s)."""
    job_server(api, fake_time, {"j": finish})
    client.wait(AsyncJob("j", "startVirtualMachine"))
    assert client.stats.polls == new_polls < old_polls
    assert fake_time.now - finish < 0.15


def test_job_failure_raises_with_server_text(api: FakeApi, client: CloudStackClient, fake_time: FakeTime) -> None:
    api.on("deployVirtualMachine", {"deployvirtualmachineresponse": {"jobid": "j1", "id": "vm-1"}})
    failed = {
        "jobid": "j1",
        "jobstatus": 2,
        "jobresultcode": 530,
        "jobresulttype": "object",
        "jobresult": {"errorcode": 533, "errortext": "Unable to create a deployment for VM[User|i-2-3-VM]"},
    }
    job_server(api, fake_time, {"j1": 1.0}, {"j1": failed})
    with pytest.raises(AsyncJobFailed) as info:
        client.call_async("deployVirtualMachine", {"zoneid": "z"})
    err = info.value
    assert (err.job_id, err.errorcode, err.object_id) == ("j1", 533, "vm-1")
    assert err.errortext == "Unable to create a deployment for VM[User|i-2-3-VM]"
    assert str(err) == (
        "deployVirtualMachine: job j1 failed: Unable to create a deployment for VM[User|i-2-3-VM] (errorcode 533)"
    )


def test_old_text_failure_and_cancelled_job(api: FakeApi, client: CloudStackClient, fake_time: FakeTime) -> None:
    text_fail = {
        "jobid": "a",
        "jobstatus": 2,
        "jobresultcode": 551,
        "jobresulttype": "text",
        "jobresult": "no capacity",
    }
    cancelled = {"jobid": "b", "jobstatus": 3, "jobresult": {"errortext": "job cancelled"}}
    job_server(api, fake_time, {"a": 0, "b": 0}, {"a": text_fail, "b": cancelled})
    first, second = client.wait_all([AsyncJob("a", "stopVirtualMachine"), AsyncJob("b", "stopVirtualMachine")])
    assert isinstance(first, AsyncJobFailed) and first.errorcode == 551 and first.errortext == "no capacity"
    assert isinstance(second, AsyncJobFailed) and "cancelled" in second.errortext


def test_job_timeout_with_fake_clock(api: FakeApi, client: CloudStackClient, fake_time: FakeTime) -> None:
    api.on("attachVolume", {"attachvolumeresponse": {"jobid": "j9"}})
    job_server(api, fake_time, {"j9": float("inf")})
    with pytest.raises(AsyncJobTimeout) as info:
        client.call_async("attachVolume", {"id": "v", "virtualmachineid": "vm"}, timeout=30, operation="attach")
    assert info.value.job_id == "j9" and info.value.waited == pytest.approx(30)
    assert fake_time.now == pytest.approx(30)  # never slept past the deadline
    assert api.calls[-1].at == pytest.approx(30)  # one last look at the deadline
    assert "attachVolume (attach): job j9 still running after 30.0s" in str(info.value)


def test_default_timeout_is_job_timeout(api: FakeApi, make_client, fake_time: FakeTime) -> None:
    client = make_client(job_timeout=12)
    job_server(api, fake_time, {"j": float("inf")})
    with pytest.raises(AsyncJobTimeout):
        client.wait(AsyncJob("j", "createVolume"))
    assert fake_time.now == pytest.approx(12)


def test_wait_all_interleaves_and_keeps_order(api: FakeApi, client: CloudStackClient, fake_time: FakeTime) -> None:
    failed = {"jobid": "b", "jobstatus": 2, "jobresult": {"errorcode": 530, "errortext": "boom"}}
    job_server(api, fake_time, {"a": 3.0, "b": 1.0, "c": 6.0}, {"b": failed})
    jobs = [AsyncJob("a", "createVolume"), AsyncJob("b", "createVolume"), AsyncJob("c", "createVolume")]
    results = client.wait_all(jobs, timeout=60)
    assert results[0] == {"virtualmachine": VM} and results[2] == {"virtualmachine": VM}
    assert isinstance(results[1], AsyncJobFailed) and results[1].errortext == "boom"
    polled = [c.params["jobid"] for c in api.calls]
    assert polled[:3] == ["a", "b", "c"]  # one round polls every pending job
    assert fake_time.now - 6.0 <= 0.6 + 1e-9  # the slowest job is noticed promptly too
    assert polled.count("b") < polled.count("a") < polled.count("c")  # finished jobs drop out


def test_wait_all_timeout_and_poll_errors_are_per_job(
    api: FakeApi, client: CloudStackClient, fake_time: FakeTime
) -> None:
    def handler(call: Call):
        if call.params["jobid"] == "gone":
            return (431, {"queryasyncjobresultresponse": {"errorcode": 431, "errortext": "job gone"}})
        done = call.params["jobid"] == "ok"
        return {"queryasyncjobresultresponse": {"jobstatus": 1 if done else 0, "jobresult": {"success": True}}}

    api.on("queryAsyncJobResult", handler)
    ok, gone, slow = client.wait_all(
        [AsyncJob("ok", "deleteTags"), AsyncJob("gone", "deleteTags"), AsyncJob("slow", "deleteTags")], timeout=5
    )
    assert ok == {"success": True}
    assert isinstance(gone, ParameterError)
    assert isinstance(slow, AsyncJobTimeout) and slow.waited == pytest.approx(5)


def test_throttled_poll_still_succeeds(api: FakeApi, client: CloudStackClient, fake_time: FakeTime) -> None:
    limit = {"queryasyncjobresultresponse": {"errorcode": 429, "errortext": "account api limit, retry after [500] ms"}}
    done = {"queryasyncjobresultresponse": {"jobid": "j", "jobstatus": 1, "jobresult": {"volume": {"id": "v"}}}}
    api.on("queryAsyncJobResult", (429, limit), (429, limit), done)
    assert client.wait(AsyncJob("j", "attachVolume"), timeout=60) == {"volume": {"id": "v"}}
    assert fake_time.sleeps == [0.1, 0.5, 0.5]
    assert client.stats.throttled == 2


def test_poll_connection_error_is_retried(api: FakeApi, client: CloudStackClient) -> None:
    done = {"queryasyncjobresultresponse": {"jobid": "j", "jobstatus": 1, "jobresult": {"success": True}}}
    api.on("queryAsyncJobResult", DROP, done)
    assert client.wait(AsyncJob("j", "deleteVolume")) == {"success": True}


def test_submit_records_object_id(api: FakeApi, client: CloudStackClient) -> None:
    api.on("createVolume", {"createvolumeresponse": {"jobid": "j", "id": "vol-1"}})
    assert client.submit("createVolume", {"name": "d"}) == AsyncJob("j", "createVolume", "vol-1")


def test_sync_answer_to_submit_and_call_async(api: FakeApi, client: CloudStackClient) -> None:
    api.on("deleteVolume", {"deletevolumeresponse": {"success": True}})
    assert client.call_async("deleteVolume", {"id": "v"}) == {"success": True}
    with pytest.raises(UnexpectedResponse, match="no jobid"):
        client.submit("deleteVolume", {"id": "v"})
