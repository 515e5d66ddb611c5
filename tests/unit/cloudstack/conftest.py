"""Fixtures for the CloudStack client tests (test doubles live in ``cs_fakes``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cs_fakes import API_KEY, NOW, SECRET, FakeApi, FakeTime, serve_api

from cpi_framework.cloudstack import ClientSettings, CloudStackClient


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def api(fake_time: FakeTime) -> Iterator[FakeApi]:
    """The fake API over real HTTP on 127.0.0.1: clients from ``make_client`` talk to it."""
    with serve_api(FakeApi(fake_time)) as fake:
        yield fake
    assert not fake.errors, fake.errors


@pytest.fixture
def make_client(api: FakeApi, fake_time: FakeTime) -> Iterator[Callable[..., CloudStackClient]]:
    made: list[CloudStackClient] = []

    def make(**overrides: Any) -> CloudStackClient:
        values: dict[str, Any] = {"endpoint": api.endpoint, "api_key": API_KEY, "secret_key": SECRET}
        now = overrides.pop("now", lambda: NOW)
        overrides_jitter = overrides.pop("jitter", lambda: 0.0)  # exact delays unless a test asks
        values.update(overrides)
        client = CloudStackClient(
            ClientSettings(**values),
            logger=logging.getLogger("cpi.cloudstack"),
            clock=fake_time.clock,
            sleep=fake_time.sleep,
            jitter=overrides_jitter,
            now=now,
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., CloudStackClient]) -> CloudStackClient:
    return make_client()


@pytest.fixture(scope="session")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The simulator's throw-away CA and a server certificate for 127.0.0.1."""
    from cloudstack_simulator.tls import make_test_ca

    ca, cert, key = make_test_ca(tmp_path_factory.mktemp("cs-tls"))
    return {"ca": ca, "cert": cert, "key": key}


@pytest.fixture
def tls_api(fake_time: FakeTime, test_pki: dict[str, Path]) -> Iterator[FakeApi]:
    """A second fake API on 127.0.0.1, over TLS with a certificate from the test CA."""
    with serve_api(FakeApi(fake_time), tls=(test_pki["cert"], test_pki["key"])) as fake:
        yield fake
    assert not fake.errors, fake.errors
