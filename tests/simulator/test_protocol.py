"""Wire-level server rules: envelopes, errors, lists and paging, user-data limits, 429."""

from __future__ import annotations

import base64
import re

import requests

from cloudstack_simulator import Simulator
from cloudstack_simulator.signing import sign


def test_unknown_command_is_the_401_of_wrong_keys_on_current_servers(cs) -> None:
    """ApiServer.verifyRequest since 4.11 only logs an unknown command and returns false (versions.py)."""
    r = cs.raw("fooBar")
    assert r.status_code == 401
    assert r.json() == {"errorresponse": {"uuidList": [], "errorcode": 401,
                                          "errortext": "unable to verify user credentials and/or request signature"}}


def test_command_name_is_case_sensitive(cs) -> None:
    assert cs.raw("listzones").status_code == 401


def test_no_command_is_400(sim: Simulator) -> None:
    r = requests.get(sim.endpoint, params={"response": "json"}, timeout=5)
    assert r.status_code == 400
    assert r.json() == {"errorresponse": {"uuidList": [], "errorcode": 400, "errortext": "no command specified"}}


def test_default_response_is_xml(cs) -> None:
    p = cs.params("listZones", name="zone-xen")
    del p["response"]
    p["signature"] = sign({k: v for k, v in p.items() if k != "signature"}, cs.sim.secret_key)
    r = cs.http.get(cs.sim.endpoint, params=p, timeout=5)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/xml")
    assert "<listzonesresponse" in r.text and "<name>zone-xen</name>" in r.text


def test_json_content_type_and_param_names_case_insensitive(cs) -> None:
    r = cs.raw("listZones", NAME="zone-kvm")
    assert r.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert r.json()["listzonesresponse"]["zone"][0]["name"] == "zone-kvm"


def test_empty_list_is_empty_object(cs) -> None:
    assert cs.ok("listVirtualMachines") == {}
    assert cs.ok("listTemplates", templatefilter="self", name="nope") == {}


def test_count_and_paging(cs) -> None:
    full = cs.ok("listOsTypes")
    assert full["count"] == len(full["ostype"]) == 150
    page2 = cs.ok("listOsTypes", page=2, pagesize=40)
    assert page2["count"] == 150 and page2["ostype"] == full["ostype"][40:80]
    beyond = cs.ok("listOsTypes", page=9, pagesize=40)
    assert beyond == {"count": 150}
    assert cs.ok("listOsTypes", pagesize=-1)["count"] == 150


def test_paging_errors(cs) -> None:
    assert cs.error("listOsTypes", pagesize=10)[0] == 431
    assert cs.error("listOsTypes", page=1)[0] == 431
    status, text = cs.error("listOsTypes", page=1, pagesize=501)
    assert status == 431 and "max allowed page size" in text


def test_missing_required_parameter(cs) -> None:
    status, text = cs.error("listTemplates")
    assert status == 431
    assert text == "Unable to execute API command listtemplates due to missing parameter templatefilter"


def test_unknown_uuid_is_431_removed_is_empty(cs) -> None:
    status, text = cs.error("listVirtualMachines", id="1b0c0c5e-0000-4000-8000-000000000000")
    assert status == 431 and text.startswith("Invalid parameter id value=1b0c0c5e")
    assert cs.error("listVolumes", id="garbage")[0] == 431
    vm = cs.deploy(name="gone")
    cs.result("destroyVirtualMachine", id=vm["id"], expunge=True)
    assert cs.ok("listVirtualMachines", id=vm["id"]) == {}


def test_unknown_uuid_empty_mode(make_sim) -> None:
    c = make_sim({"api": {"unknown_uuid": "empty"}})
    assert c.ok("listVirtualMachines", id="1b0c0c5e-0000-4000-8000-000000000000") == {}


def test_error_envelope_has_command_key_and_header(cs) -> None:
    r = cs.raw("deployVirtualMachine", "POST", zoneid="x", serviceofferingid="y", templateid="z")
    assert r.status_code == 431
    body = r.json()["deployvirtualmachineresponse"]
    assert set(body) == {"uuidList", "errorcode", "cserrorcode", "errortext"}
    assert r.headers["X-Description"] == body["errortext"]


def test_non_printable_values_rejected(cs) -> None:
    status, text = cs.error("listZones", keyword="a\x01b")
    assert status == 431 and "non-printable" in text


def test_malformed_map_parameter_is_430(cs) -> None:
    assert cs.error("listVirtualMachines", **{"tags[0]].key": "x"})[0] == 430


def _userdata(n: int) -> str:
    raw = base64.b64encode(b"x" * n).decode()
    return raw


def test_userdata_get_limit_vs_post_limit(cs) -> None:
    big = _userdata(3500)  # 4668 base64 chars: too long for GET, fine for POST
    zid = cs.zone()
    args = {"zoneid": zid, "serviceofferingid": cs.offering(), "templateid": cs.template(zid),
            "networkids": cs.network(zid), "userdata": big}
    status, text = cs.error("deployVirtualMachine", "GET", **args)
    assert (status, text) == (431, "User data is too long for an http GET request")
    assert cs.ok("deployVirtualMachine", "POST", **args)["jobid"]
    huge = _userdata(30000)  # 40000 chars > vm.userdata.max.length 32768
    status, text = cs.error("deployVirtualMachine", "POST", **dict(args, userdata=huge))
    assert text == "User data has exceeded configurable max length : 32768"
    assert cs.error("deployVirtualMachine", "POST", **dict(args, userdata="%%%not-base64"))[0] == 431


def test_userdata_post_limit_configurable(make_sim) -> None:
    c = make_sim({"api": {"userdata_max_length": 100000}})
    vm = c.deploy(userdata=_userdata(60000))
    assert len(c.sim.guest_view(vm["id"])["user_data"]) == 60000


def test_throttle_429_like_the_server(make_sim) -> None:
    c = make_sim({"api": {"throttle_rps": 3}})
    responses = [c.raw("listZones") for _ in range(6)]
    assert [r.status_code for r in responses[:3]] == [200, 200, 200]
    limited = [r for r in responses if r.status_code == 429]
    assert limited, [r.status_code for r in responses]
    body = limited[0].json()["listzonesresponse"]
    assert body["errorcode"] == 429 and body["cserrorcode"] == 4545
    assert re.fullmatch(r"The given user has reached his/her account api limit, please retry after \d+ ms\.",
                        body["errortext"])
    assert "Retry-After" not in limited[0].headers


def test_capabilities(cs) -> None:
    cap = cs.ok("listCapabilities")["capability"]
    assert cap["allowuserexpungerecovervm"] is True and cap["cloudstackversion"]


def test_keep_alive_session_reuse(cs) -> None:
    for _ in range(20):
        cs.ok("listZones")
    assert cs.sim.request_counts()["listZones"] == 20
