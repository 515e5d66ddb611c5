"""The error tree's wire types and the one mapping to the response."""

from __future__ import annotations

import pytest

from cpi_framework import errors
from cpi_framework.cloudstack import errors as cs


@pytest.mark.parametrize(
    ("cls", "wire"),
    [
        (errors.CpiError, "Bosh::Clouds::CpiError"),
        (errors.MethodNotImplemented, "Bosh::Clouds::NotImplemented"),
        (errors.NotSupported, "Bosh::Clouds::NotSupported"),
        (errors.CloudError, "Bosh::Clouds::CloudError"),
        (errors.VMNotFound, "Bosh::Clouds::VMNotFound"),
        (errors.NetworkNotFound, "Bosh::Clouds::NetworkNotFound"),
        (errors.VMCreationFailed, "Bosh::Clouds::VMCreationFailed"),
        (errors.NoDiskSpace, "Bosh::Clouds::NoDiskSpace"),
        (errors.DiskNotAttached, "Bosh::Clouds::DiskNotAttached"),
        (errors.DiskNotFound, "Bosh::Clouds::DiskNotFound"),
    ],
)
def test_wire_types(cls, wire):
    assert cls.bosh_type == wire
    assert wire in errors.KNOWN_TYPES
    assert errors.to_wire(cls("boom")) == {"type": wire, "message": "boom", "ok_to_retry": False}


def test_every_bosh_error_class_has_a_known_type():
    def walk(cls):
        yield cls
        for sub in cls.__subclasses__():
            yield from walk(sub)

    for cls in walk(errors.BoshError):
        assert cls.bosh_type in errors.KNOWN_TYPES, cls


def test_retriable_errors_carry_ok_to_retry():
    assert errors.to_wire(errors.VMCreationFailed("x", ok_to_retry=True))["ok_to_retry"] is True
    assert errors.to_wire(errors.DiskNotFound("x", ok_to_retry=False))["ok_to_retry"] is False


def test_a_subclass_with_an_unknown_type_never_reaches_the_director():
    class Typo(errors.CloudError):
        bosh_type = "Bosh::Clouds::StemcellNotFound"  # the director does not know it

    assert errors.to_wire(Typo("x"))["type"] == "Bosh::Clouds::CloudError"


def test_config_and_plugin_errors_are_cloud_errors_without_retry():
    assert errors.to_wire(errors.ConfigError("bad key")) == {
        "type": "Bosh::Clouds::CloudError", "message": "bad key", "ok_to_retry": False}
    assert errors.to_wire(errors.PluginError("plugin x"))["type"] == "Bosh::Clouds::CloudError"


def test_unexpected_exceptions_name_their_class():
    wire = errors.to_wire(KeyError("vm"))
    assert wire["type"] == "Bosh::Clouds::CloudError"
    assert wire["message"].startswith("Unexpected error: KeyError")


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (cs.TransportError("connection refused", command="listZones"), True),
        (cs.AsyncJobTimeout("job-1", "deployVirtualMachine", 30.0), True),
        (cs.ApiError("deployVirtualMachine", "Unable to create a deployment for VM", http_status=533,
                     errorcode=533), True),
        (cs.ApiError("deployVirtualMachine", "Insufficient capacity", http_status=533, errorcode=533), True),
        (cs.ApiError("listZones", "Service unavailable", http_status=503, errorcode=503), True),
        (cs.ParameterError("deployVirtualMachine", "Unable to find service offering", http_status=431,
                           errorcode=431), False),
        (ValueError("x"), False),
    ],
)
def test_is_transient(exc, transient):
    assert errors.is_transient(exc) is transient
    assert errors.to_wire(exc)["ok_to_retry"] is transient


def test_tls_failures_are_not_transient():
    exc = cs.TLSError("certificate verify failed; set cloudstack.ca_cert", command="listZones")
    assert errors.is_transient(exc) is False
    from cpi_framework.cloudstack.responses import is_transient as client_retries

    assert client_retries(exc) is False
