"""TLS: verified by default, a custom CA through ``cloudstack.ca_cert``, bad certificates fail clearly.

The simulator serves HTTPS with a certificate from a throw-away CA (``cloudstack_simulator.tls``).
Every failure must be one typed response whose message says what to do (mention
``cloudstack.ca_cert``), within seconds, with no temp file left behind (the CA is written to a
temp file for ``requests``) and no secret in it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from reliability_support import FIGURES, SecretScanner, call, director_env

from cloudstack_simulator import Simulator
from cloudstack_simulator.tls import make_test_ca
from cpi_framework.testing import make_cpi_config

VM_UUID = "6d1f2a3b-0000-4000-8000-00000000beef"  # UUID-shaped, so has_vm asks the cloud


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    good = make_test_ca(tmp_path_factory.mktemp("good-ca"))
    wrong_host = make_test_ca(tmp_path_factory.mktemp("wrong-host"), host="cloud.example.invalid")
    other = make_test_ca(tmp_path_factory.mktemp("other-ca"))
    return {"ca": good[0], "cert": good[1], "key": good[2],
            "wrong_host_ca": wrong_host[0], "wrong_host_cert": wrong_host[1], "wrong_host_key": wrong_host[2],
            "other_ca": other[0]}


@pytest.fixture(scope="module")
def https_sim(pki: dict[str, Path]) -> Any:
    with Simulator(tls=(pki["cert"], pki["key"])) as sim:
        yield sim


def _call(sim: Any, tmp_path: Path, method: str, *args: Any, **cloudstack: Any) -> Any:
    config = make_cpi_config(sim, "xen", tmp_path, cloudstack={"connect_timeout": 5, "read_timeout": 5,
                                                               "timeouts": {"default": 2}, **cloudstack})
    tmpdir = tmp_path / "cpi-tmp"
    tmpdir.mkdir(exist_ok=True)
    result = call(config, method, *args, env=director_env(str(tmpdir)))
    FIGURES.add("TLS calls")
    assert result.seconds < 20, f"{method} took {result.seconds:.1f}s"
    assert not list(tmpdir.iterdir()), f"temp files left: {list(tmpdir.iterdir())}"
    leaks = SecretScanner({"api key": sim.api_key, "secret": sim.secret_key}).scan(
        result.stderr + result.document["log"] + str(result.error), "output")
    assert not leaks, leaks
    return result


def _tls_failure(result: Any) -> str:
    assert result.error is not None, "the call succeeded against an untrusted certificate"
    assert result.error["type"] == "Bosh::Clouds::CloudError"
    message = result.error["message"]
    assert "TLS" in message or "certificate" in message.lower(), message
    return message


def test_https_endpoint(https_sim):
    assert https_sim.endpoint.startswith("https://127.0.0.1:")


def test_verification_is_on_by_default(https_sim, tmp_path):
    message = _tls_failure(_call(https_sim, tmp_path, "has_vm", VM_UUID))
    assert "cloudstack.ca_cert" in message
    assert not https_sim.request_log(), "a request reached the API over an unverified connection"


def test_custom_ca_works(https_sim, pki, tmp_path):
    ca = pki["ca"].read_text()
    assert _call(https_sim, tmp_path, "has_vm", VM_UUID, ca_cert=ca).result is False
    disk = _call(https_sim, tmp_path, "create_disk", 1024, {}, None, ca_cert=ca).result
    assert _call(https_sim, tmp_path, "has_disk", disk, ca_cert=ca).result is True
    assert _call(https_sim, tmp_path, "delete_disk", disk, ca_cert=ca).error is None


def test_certificate_from_another_ca_fails_clearly(https_sim, pki, tmp_path):
    message = _tls_failure(_call(https_sim, tmp_path, "has_vm", VM_UUID, ca_cert=pki["other_ca"].read_text()))
    assert "verif" in message.lower()


def test_certificate_for_another_host_fails_clearly(pki, tmp_path):
    with Simulator(tls=(pki["wrong_host_cert"], pki["wrong_host_key"])) as sim:
        result = _call(sim, tmp_path, "has_vm", VM_UUID, ca_cert=pki["wrong_host_ca"].read_text())
        message = _tls_failure(result)
        assert "127.0.0.1" in message or "hostname" in message.lower() or "match" in message.lower(), message
        assert not sim.request_log()


def test_garbage_ca_cert_fails_clearly(https_sim, tmp_path):
    result = _call(https_sim, tmp_path, "has_vm", VM_UUID, ca_cert="this is not a PEM certificate")
    assert result.error is not None
    assert "ca_cert" in result.error["message"], result.error["message"]


def test_plain_http_client_against_https_server_fails_clearly(https_sim, tmp_path):
    config = make_cpi_config(https_sim, "xen", tmp_path, cloudstack={
        "endpoint": https_sim.endpoint.replace("https://", "http://"), "connect_timeout": 5, "read_timeout": 5,
        "timeouts": {"default": 2}})
    result = call(config, "has_vm", VM_UUID, env=director_env())
    assert result.error is not None and result.seconds < 20
    assert result.error["type"] == "Bosh::Clouds::CloudError"


def test_certificate_failure_is_permanent(https_sim, tmp_path):
    """A certificate problem is the operator's to fix: no retries, and no invitation to retry."""
    result = _call(https_sim, tmp_path, "has_vm", VM_UUID)
    _tls_failure(result)
    assert result.error["ok_to_retry"] is False
    assert "retry" not in result.stderr


LIBRARY_INTERNALS = ("_ssl.c", "HTTPSConnectionPool", "Max retries", "urllib3", "SSLError(", "Caused by")


def test_https_endpoint_on_a_plain_http_server_names_the_real_cause(tmp_path):
    """Not a trust problem: no certificate is involved, so no ca_cert advice (issue 19 item 6)."""
    with Simulator() as plain:
        result = _call(plain, tmp_path, "has_vm", VM_UUID,
                       endpoint=plain.endpoint.replace("http://", "https://"))
    message = result.error["message"]
    assert "answered in plain HTTP, not TLS" in message and "use http://" in message
    assert "ca_cert" not in message and "certificate" not in message
    assert not any(noise in message for noise in LIBRARY_INTERNALS), message
    assert result.error["ok_to_retry"] is False


def test_certificate_failures_carry_no_transport_internals(https_sim, pki, tmp_path):
    for ca_cert in (None, pki["other_ca"].read_text()):
        extra = {"ca_cert": ca_cert} if ca_cert else {}
        message = _tls_failure(_call(https_sim, tmp_path, "has_vm", VM_UUID, **extra))
        assert "certificate verification failed" in message and "cloudstack.ca_cert" in message
        assert not any(noise in message for noise in LIBRARY_INTERNALS), message
