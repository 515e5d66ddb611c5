"""Fixtures for the CloudStack client tests (test doubles live in ``cs_fakes``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from cs_fakes import API_KEY, ENDPOINT, NOW, SECRET, FakeApi, FakeTime

from cpi_framework.cloudstack import ClientSettings, CloudStackClient


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def api(requests_mock: Any, fake_time: FakeTime) -> FakeApi:
    fake = FakeApi(fake_time)
    requests_mock.get(ENDPOINT, text=fake)
    requests_mock.post(ENDPOINT, text=fake)
    return fake


@pytest.fixture
def make_client(fake_time: FakeTime) -> Callable[..., CloudStackClient]:
    def make(**overrides: Any) -> CloudStackClient:
        values: dict[str, Any] = {"endpoint": ENDPOINT, "api_key": API_KEY, "secret_key": SECRET}
        now = overrides.pop("now", lambda: NOW)
        overrides_jitter = overrides.pop("jitter", lambda: 0.0)  # exact delays unless a test asks
        values.update(overrides)
        return CloudStackClient(
            ClientSettings(**values),
            logger=logging.getLogger("cpi.cloudstack"),
            clock=fake_time.clock,
            sleep=fake_time.sleep,
            jitter=overrides_jitter,
            now=now,
        )

    return make


@pytest.fixture
def client(make_client: Callable[..., CloudStackClient]) -> CloudStackClient:
    return make_client()
