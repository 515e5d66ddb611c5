"""Sync calls: method choice, unwrapping, API errors, non-API answers, transport faults."""

from __future__ import annotations

import base64
import logging

import pytest
from cs_fakes import API_KEY, DROP, SECRET, FakeApi, FakeTime, Stall, unaccepting_port

from cpi_framework.cloudstack import (
    ApiError,
    AuthenticationError,
    CloudStackClient,
    CommandUnavailable,
    ConnectTimeout,
    ParameterError,
    ReadTimeout,
    TLSError,
    TransportError,
    UnexpectedResponse,
)

ZONES = {"listzonesresponse": {"count": 1, "zone": [{"id": "z1", "name": "zone-1"}]}}


def test_read_goes_as_get_and_is_unwrapped(api: FakeApi, client: CloudStackClient) -> None:
    api.on("listZones", ZONES)
    assert client.call("listZones", {"available": True}) == ZONES["listzonesresponse"]
    (call,) = api.calls
    assert call.method == "GET"
    assert call.params["available"] == "true"
    assert call.params["response"] == "json"
    assert call.params["apikey"] == API_KEY
    assert call.params["signatureversion"] == "3"
    assert call.params["expires"] == "2030-01-01T00:10:00+0000"


def test_mutation_goes_as_post_with_form_body(api: FakeApi, client: CloudStackClient) -> None:
    api.on("createTags", {"createtagsresponse": {"jobid": "j1"}})
    client.call("createTags", {"resourceids": ["v1"], "resourcetype": "UserVm", "tags": [{"key": "a", "value": "b"}]})
    (call,) = api.calls
    assert call.method == "POST"
    assert "?" not in call.url
    assert call.params["tags[0].key"] == "a" and call.params["resourceids"] == "v1"


def test_post_flag_forces_post_for_reads(api: FakeApi, client: CloudStackClient) -> None:
    api.on("listZones", ZONES)
    client.call("listZones", post=True)
    assert api.calls[0].method == "POST"


def test_large_userdata_goes_as_post_even_when_get_asked(api: FakeApi, client: CloudStackClient) -> None:
    api.on("getVirtualMachineUserData", {"getvirtualmachineuserdataresponse": {"virtualmachineuserdata": {}}})
    userdata = base64.b64encode(b"x" * 4000).decode()
    client.call("getVirtualMachineUserData", {"userdata": userdata}, post=False)
    assert api.calls[0].method == "POST"
    assert api.calls[0].params["userdata"] == userdata  # +, /, = survive the form encoding


def test_special_characters_survive_the_wire_and_signature(api: FakeApi, client: CloudStackClient) -> None:
    api.on("listVirtualMachines", {"listvirtualmachinesresponse": {}})
    keyword = "a b*c~d/é+&=%[]"
    client.call("listVirtualMachines", {"keyword": keyword, "tags": [{"key": "k~", "value": "v v"}]})
    assert api.calls[0].params["keyword"] == keyword
    assert api.calls[0].params["tags[0].value"] == "v v"


def test_response_key_is_taken_not_computed(api: FakeApi, client: CloudStackClient) -> None:
    params = {"id": "t1", "postURL": "https://ssvm/upload", "signature": "x", "metadata": "m", "expires": "e"}
    api.on("getUploadParamsForTemplate", {"postuploadtemplateresponse": {"getuploadparams": params}})
    assert client.call("getUploadParamsForTemplate", {"name": "t"}) == {"getuploadparams": params}
    assert api.calls[0].method == "POST"


def test_empty_answer_is_empty_dict(api: FakeApi, client: CloudStackClient) -> None:
    api.on("listTemplates", {"listtemplatesresponse": {}})
    assert client.call("listTemplates", {"templatefilter": "self"}) == {}


def test_401_bad_signature(api: FakeApi, client: CloudStackClient) -> None:
    text = "unable to verify user credentials and/or request signature"
    api.on("listZones", (401, {"listzonesresponse": {"uuidList": [], "errorcode": 401, "errortext": text}}))
    api.on("listCapabilities", (401, {"listcapabilitiesresponse": {"errorcode": 401, "errortext": text}}))
    with pytest.raises(AuthenticationError) as info:
        client.call("listZones")
    assert info.value.errorcode == 401 and info.value.http_status == 401
    assert str(info.value).startswith(f"listZones: {text} (errorcode 401)")
    assert [c.command for c in api.calls] == ["listZones", "listCapabilities"]  # never retried; keys probed once


def test_401_for_one_command_while_the_keys_work_is_an_unavailable_command(api: FakeApi,
                                                                         client: CloudStackClient) -> None:
    """Current servers answer an unknown command with the bad-signature 401 (ApiServer.verifyRequest)."""
    text = "unable to verify user credentials and/or request signature"
    api.on("changeOfferingForVolume", (401, {"changeofferingforvolumeresponse": {"errorcode": 401,
                                                                                 "errortext": text}}))
    api.on("listCapabilities", {"listcapabilitiesresponse": {"capability": {"cloudstackversion": "4.15.2.0"}}})
    with pytest.raises(CommandUnavailable) as info:
        client.call("changeOfferingForVolume", {"id": "v"})
    assert not isinstance(info.value, AuthenticationError)
    assert "does not offer changeOfferingForVolume" in str(info.value)
    assert "API key" not in str(info.value) and "secret" not in str(info.value)


def test_401_without_json_body_uses_x_description(api: FakeApi, client: CloudStackClient) -> None:
    api.on("listZones", (401, "", {"X-Description": "unable to verify user credentials"}))
    api.on("listCapabilities", (401, "", {"X-Description": "unable to verify user credentials"}))
    with pytest.raises(AuthenticationError, match="unable to verify user credentials"):
        client.call("listZones")


def test_431_parameter_error_fields(api: FakeApi, client: CloudStackClient) -> None:
    body = {
        "deployvirtualmachineresponse": {
            "uuidList": [],
            "errorcode": 431,
            "cserrorcode": 9999,
            "errortext": "Unable to find service offering: 104",
        }
    }
    api.on("deployVirtualMachine", (431, body))
    with pytest.raises(ParameterError) as info:
        client.call("deployVirtualMachine", {"serviceofferingid": "104"})
    err = info.value
    assert (err.http_status, err.errorcode, err.cserrorcode) == (431, 431, 9999)
    assert err.errortext == "Unable to find service offering: 104"
    assert str(err) == "deployVirtualMachine: Unable to find service offering: 104 (errorcode 431)"
    assert err.is_not_found and err.command == "deployVirtualMachine"
    assert len(api.calls) == 1


@pytest.mark.parametrize(
    ("text", "not_found"),
    [
        (
            "Unable to execute API command destroyvirtualmachine due to invalid value. Invalid parameter id "
            "value=5a1b due to incorrect long value format, or entity does not exist or due to incorrect "
            "parameter annotation for the field in api cmd class.",
            True,
        ),
        ("Volume with id 7 does not exist", True),
        ("Unable to find suitable host for vm", False),
        ("Public key is invalid", False),
    ],
)
def test_is_not_found(text: str, not_found: bool) -> None:
    assert ApiError("x", text, http_status=431, errorcode=431).is_not_found is not_found


def test_530_internal_error_on_mutation_is_not_retried(api: FakeApi, client: CloudStackClient) -> None:
    body = {"createvolumeresponse": {"errorcode": 530, "cserrorcode": 4250, "errortext": "internal error"}}
    api.on("createVolume", (530, body))
    with pytest.raises(ApiError) as info:
        client.call("createVolume", {"name": "v"})
    assert info.value.errorcode == 530 and info.value.cserrorcode == 4250
    assert len(api.calls) == 1


def test_530_internal_error_on_read_is_retried(api: FakeApi, client: CloudStackClient, fake_time: FakeTime) -> None:
    body = {"listvolumesresponse": {"errorcode": 530, "errortext": "internal error"}}
    api.on("listVolumes", (530, body), (530, body), {"listvolumesresponse": {"count": 1, "volume": [{"id": "v"}]}})
    assert client.call("listVolumes")["volume"] == [{"id": "v"}]
    assert len(api.calls) == 3
    assert fake_time.sleeps == [0.5, 1.0]
    assert client.stats.retries == 2


def test_read_retries_are_bounded(api: FakeApi, client: CloudStackClient) -> None:
    api.on("listVolumes", (530, {"listvolumesresponse": {"errorcode": 530, "errortext": "internal error"}}))
    with pytest.raises(ApiError):
        client.call("listVolumes")
    assert len(api.calls) == 1 + client.settings.read_retries


def test_html_502_is_unexpected_response(api: FakeApi, make_client) -> None:
    client = make_client(read_retries=0)
    html = "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"
    api.on("listZones", (502, html, {"Content-Type": "text/html"}))
    with pytest.raises(UnexpectedResponse) as info:
        client.call("listZones")
    message = str(info.value)
    assert "HTTP 502" in message and "text/html" in message and "502 Bad Gateway" in message
    assert "endpoint may be wrong" in message
    assert info.value.http_status == 502


def test_html_502_on_read_is_retried_then_succeeds(api: FakeApi, client: CloudStackClient) -> None:
    api.on("listZones", (502, "<html>Bad Gateway</html>", {"Content-Type": "text/html"}), ZONES)
    assert client.call("listZones")["count"] == 1


def test_html_200_from_wrong_endpoint(api: FakeApi, client: CloudStackClient) -> None:
    api.on("listZones", (200, "<html>Apache CloudStack UI</html>", {"Content-Type": "text/html"}))
    with pytest.raises(UnexpectedResponse, match="endpoint may be wrong"):
        client.call("listZones")
    assert len(api.calls) == 1


@pytest.mark.parametrize(
    "body", [{}, {"a": {}, "b": {}}, {"listzonesresponse": [1, 2]}, [1, 2]], ids=["none", "two", "list", "array"]
)
def test_json_without_one_top_level_object(api: FakeApi, client: CloudStackClient, body: object) -> None:
    api.on("listZones", (200, body))
    with pytest.raises(UnexpectedResponse):
        client.call("listZones")


def test_connection_error_on_read_is_retried(api: FakeApi, client: CloudStackClient, fake_time: FakeTime) -> None:
    api.on("listZones", DROP, ZONES)
    assert client.call("listZones")["count"] == 1
    assert len(api.calls) == 2 and fake_time.sleeps == [0.5]


def test_connection_error_on_mutation_is_not_retried(api: FakeApi, client: CloudStackClient) -> None:
    api.on("deployVirtualMachine", DROP)
    with pytest.raises(TransportError) as info:
        client.call("deployVirtualMachine", {"zoneid": "z"})
    assert len(api.calls) == 1
    assert "may or may not have taken effect" in str(info.value)


def test_read_timeout_on_mutation_is_not_retried(api: FakeApi, make_client) -> None:
    client = make_client(read_timeout=0.3)
    api.on("attachVolume", Stall(1.0))
    with pytest.raises(ReadTimeout, match="no answer from .* within 0.3s; attachVolume may or may not"):
        client.call("attachVolume", {"id": "v"})
    assert len(api.calls) == 1


def test_connect_timeout_maps(make_client) -> None:
    with unaccepting_port() as port:
        client = make_client(endpoint=f"http://127.0.0.1:{port}/client/api", read_retries=0, connect_timeout=0.3)
        with pytest.raises(ConnectTimeout, match="could not connect to http://127.0.0.1:.* within 0.3s"):
            client.call("listZones")


def test_tls_error_hints_at_ca_cert(tls_api: FakeApi, make_client) -> None:
    client = make_client(endpoint=tls_api.endpoint, read_retries=0)  # certifi's bundle: the test CA is unknown
    with pytest.raises(TLSError) as info:
        client.call("listZones")
    assert "certificate verification failed" in str(info.value) and "cloudstack.ca_cert" in str(info.value)
    assert not tls_api.calls


def test_secrets_never_in_messages_or_logs(api: FakeApi, make_client, caplog: pytest.LogCaptureFixture) -> None:
    client = make_client(debug=True, read_retries=1)
    api.on("listZones", DROP)
    echo = f"<html>bad request /client/api?apikey={API_KEY}&signature=abc secret={SECRET}</html>"
    api.on("deployVirtualMachine", (400, echo, {"Content-Type": "text/html"}))
    caplog.set_level(logging.DEBUG)
    errors = []
    with pytest.raises(TransportError) as info:
        client.call("listZones")
    errors.append(str(info.value))
    assert "closed connection without response" in str(info.value)
    with pytest.raises(UnexpectedResponse) as info2:
        client.call("deployVirtualMachine", {"userdata": "c2VjcmV0", "password": "pw-123"})
    errors.append(str(info2.value))
    signatures = [c.params["signature"] for c in api.calls]
    for text in [*errors, caplog.text]:
        for secret in [API_KEY, SECRET, "pw-123", "c2VjcmV0", *signatures]:
            assert secret not in text
    assert "<8 bytes>" in caplog.text  # debug logging shows the request, redacted
    # the transport's exception is neither chained nor attached as context
    assert info.value.__cause__ is None and info.value.__context__ is None


def test_debug_off_logs_no_requests(api: FakeApi, client: CloudStackClient, caplog: pytest.LogCaptureFixture) -> None:
    api.on("listZones", ZONES)
    caplog.set_level(logging.DEBUG, logger="cpi.cloudstack")
    client.call("listZones")
    assert "listZones" not in caplog.text


def test_stats_count_requests_per_command(api: FakeApi, client: CloudStackClient) -> None:
    api.on("listZones", ZONES)
    api.on("listTemplates", {"listtemplatesresponse": {}})
    client.call("listZones")
    client.call("listZones")
    client.call("listTemplates")
    stats = client.stats
    assert stats.counts == {"listZones": 2, "listTemplates": 1}
    assert stats.total_requests == 3
    assert stats.as_dict()["counts"] == {"listTemplates": 1, "listZones": 2}


def test_settings_validate_endpoint() -> None:
    from cpi_framework.cloudstack import ClientSettings

    with pytest.raises(ValueError):
        ClientSettings(endpoint="cloud.example/client/api", api_key="k", secret_key="s")
    assert "s3cr3t" not in repr(ClientSettings(endpoint="https://h/client/api", api_key="k", secret_key="s3cr3t"))
    shown = repr(ClientSettings(endpoint="https://h/client/api", api_key="my-api-key", secret_key="s",
                                proxies={"https": "http://user:pr0xy-pw@proxy:3128"}))
    assert "my-api-key" not in shown and "pr0xy-pw" not in shown and "https://h/client/api" in shown


def test_redirect_is_not_followed(api: FakeApi, client: CloudStackClient) -> None:
    api.on("listZones", (301, "", {"Location": "https://other.example/client/api?apikey=AK&signature=S"}))
    with pytest.raises(UnexpectedResponse) as info:
        client.call("listZones")
    assert "redirect to https://other.example/client/api?***" in str(info.value)
    assert len(api.calls) == 1


def test_settings_bound_the_signature_expiry() -> None:
    from cpi_framework.cloudstack import ClientSettings

    with pytest.raises(ValueError):
        ClientSettings(endpoint="https://h/client/api", api_key="k", secret_key="s", expires_seconds=3600)
