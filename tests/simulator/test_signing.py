"""Signature verification and signatureVersion=3 expiry."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import requests

from cloudstack_simulator import Simulator
from cloudstack_simulator.signing import java_urlencode, parse_expires, sign, string_to_sign

UNAUTH = {"uuidList": [], "errorcode": 401, "errortext": "unable to verify user credentials and/or request signature"}


@pytest.mark.parametrize(("params", "secret", "expected"), [
    ({"apiKey": "foo", "command": "listVirtualMachines", "listall": "true", "response": "json"}, "bar",
     "B0d6hBsZTcFVCiioSxzwKA9Pke8="),
    ({"apiKey": "foo", "blah": "brah", "command": "listVirtualMachines", "response": "json"}, "bar",
     "58VvLSaVUqHnG9DhXNOAiDFwBoA="),
    ({"apiKey": "foo", "command": "createNetwork", "display_text": "", "name": "", "response": "json"}, "bar",
     "CistTEiPt/4Rv1v4qSyILvPbhmg="),
    ({"apiKey": "plgWJfZK4gyS3mOMTVmjUVg-X-jlWlnfaUJ9GAbBbf9EdM-kAYMmAiLqzzq1ElZLYq_u38zCm0bewzGUdP66mg",
      "command": "listUsers", "response": "json"},
     "VDaACYb0LV9eNjTetIOElcVQkvJck_J_QljX_FcHRj87ZKiy0z0ty0ZsYBkoXkY9b7eq1EhwJaw7FF3akA3KBQ",
     "TTpdDq/7j/J58XCRHomKoQXEQds="),
    ({"apiKey": "foo", "command": "listVirtualMachines", "response": "json", "keyword": "a b*c~d/é"}, "bar",
     "496qq/DQ1zIT4CpsJVyTO8dOmpk="),
    ({"apiKey": "foo", "command": "listZones", "response": "json", "signatureVersion": "3",
      "expires": "2030-01-01T00:00:00+0000"}, "bar", "S0OtoIAS+Tu8ylB/nsQh4B370TM="),
])
def test_reference_vectors(params: dict[str, str], secret: str, expected: str) -> None:
    assert sign(params, secret) == expected


def test_string_to_sign_encodes_tilde_like_java() -> None:
    s = string_to_sign({"apiKey": "foo", "command": "listVirtualMachines", "response": "json", "keyword": "a b*c~d/é"})
    assert s == "apikey=foo&command=listvirtualmachines&keyword=a%20b*c%7ed%2f%c3%a9&response=json"
    assert java_urlencode("~*+ ") == "%7E*%2B%20"


def test_names_sorted_as_sent_java_order() -> None:
    # 'K' (0x4B) < '_' (0x5F) < 'k' (0x6B): the server sorts names as received.
    assert string_to_sign({"apiKey": "1", "api_x": "2"}).startswith("apikey=1&api_x=2")
    assert string_to_sign({"apikey": "1", "api_x": "2"}).startswith("api_x=2&apikey=1")


def _signed(sim: Simulator, **extra: str) -> dict[str, str]:
    p = {"command": "listZones", "apiKey": sim.api_key, "response": "json", **extra}
    p["signature"] = sign(p, sim.secret_key)
    return p


def test_default_secret_has_tilde_and_signed_get_and_post_work(sim: Simulator) -> None:
    assert "~" in sim.secret_key
    p = _signed(sim, keyword="zone~xen")
    assert requests.get(sim.endpoint, params=p, timeout=5).status_code == 200
    assert requests.post(sim.endpoint, data=p, timeout=5).status_code == 200


def test_query_and_body_are_signed_together(sim: Simulator) -> None:
    p = _signed(sim, name="zone-kvm")
    query = {k: p.pop(k) for k in ("command", "apiKey")}
    r = requests.post(sim.endpoint, params=query, data=p, timeout=5)
    assert r.status_code == 200 and r.json()["listzonesresponse"]["count"] == 1


def test_python_quote_signature_rejected_on_tilde(sim: Simulator) -> None:
    import base64
    import hashlib
    import hmac
    from urllib.parse import quote

    p = {"command": "listZones", "apiKey": sim.api_key, "response": "json", "keyword": "a~b"}
    wrong = "&".join(f"{k}={quote(v, safe='*')}" for k, v in sorted(p.items())).lower()
    p["signature"] = base64.b64encode(hmac.new(sim.secret_key.encode(), wrong.encode(), hashlib.sha1).digest()).decode()
    r = requests.get(sim.endpoint, params=p, timeout=5)
    assert r.status_code == 401
    assert r.json() == {"listzonesresponse": UNAUTH}


@pytest.mark.parametrize("mutate", ["bad-signature", "unknown-key", "no-signature", "tampered"])
def test_401_with_the_servlet_body(sim: Simulator, mutate: str) -> None:
    p = _signed(sim)
    if mutate == "bad-signature":
        p["signature"] = "AAAA" + p["signature"][4:]
    elif mutate == "unknown-key":
        p["apiKey"] = "nope"
        p["signature"] = sign({k: v for k, v in p.items() if k != "signature"}, sim.secret_key)
    elif mutate == "no-signature":
        del p["signature"]
    else:
        p["name"] = "zone-xen"
    r = requests.get(sim.endpoint, params=p, timeout=5)
    assert r.status_code == 401
    assert r.json() == {"listzonesresponse": UNAUTH}
    assert r.headers["X-Description"] == UNAUTH["errortext"]


def _expires(delta: timedelta, fmt: str = "%Y-%m-%dT%H:%M:%S+0000") -> str:
    return (datetime.now(timezone.utc) + delta).strftime(fmt)


@pytest.mark.parametrize("fmt", [
    "%Y-%m-%dT%H:%M:%S+0000",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S.000+00:00",
])
def test_v3_valid_expires_formats(sim: Simulator, fmt: str) -> None:
    expires = _expires(timedelta(minutes=5), fmt)  # at run time: collection may be minutes earlier
    p = _signed(sim, signatureVersion="3", expires=expires)
    assert requests.get(sim.endpoint, params=p, timeout=5).status_code == 200


@pytest.mark.parametrize("extra", [{"signatureVersion": "3", "expires": _expires(timedelta(seconds=-5))},
                                   {"signatureVersion": "3"},
                                   {"signatureVersion": "3", "expires": "tomorrow"}])
def test_v3_expired_missing_or_garbled_is_401(sim: Simulator, extra: dict[str, str]) -> None:
    r = requests.get(sim.endpoint, params=_signed(sim, **extra), timeout=5)
    assert r.status_code == 401
    assert r.json()["listzonesresponse"]["errortext"] == UNAUTH["errortext"]


def test_expires_ignored_without_v3(sim: Simulator) -> None:
    p = _signed(sim, expires=_expires(timedelta(days=-1)))
    assert requests.get(sim.endpoint, params=p, timeout=5).status_code == 200


def test_enforced_timestamps() -> None:
    with Simulator({"api": {"enforce_post_and_timestamps": True}}) as sim:
        assert requests.get(sim.endpoint, params=_signed(sim), timeout=5).status_code == 401
        far = _signed(sim, signatureVersion="3", expires=_expires(timedelta(minutes=30)))
        assert requests.get(sim.endpoint, params=far, timeout=5).status_code == 401
        near = _signed(sim, signatureVersion="3", expires=_expires(timedelta(minutes=10)))
        assert requests.get(sim.endpoint, params=near, timeout=5).status_code == 200


def test_parse_expires_offsets() -> None:
    assert parse_expires("2011-10-10T12:00:00+0530") == datetime(2011, 10, 10, 6, 30, tzinfo=timezone.utc)
