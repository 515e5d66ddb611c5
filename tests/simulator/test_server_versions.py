"""Server generations (cloudstack_simulator/versions.py): each rule of the table, on both sides of its release."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cloudstack_simulator.config import ConfigError, example_path, load_config
from cloudstack_simulator.signing import sign
from cloudstack_simulator.versions import COMMANDS_SINCE, PROFILES, Profile

GB = 2**30


@pytest.fixture
def versioned(make_sim):
    """``versioned("4.5.2")`` -> a signed client on a running simulator of that version."""
    return lambda version: make_sim({"cloudstack_version": version})


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_profile_has_a_bundled_example_reporting_its_version(name) -> None:
    cfg = load_config(f"cloudstack-{name}.yml")
    assert example_path(f"cloudstack-{name}.yml").exists()
    assert cfg["cloudstack_version"] == PROFILES[name]
    assert Profile(cfg["cloudstack_version"]).version[:2] == tuple(int(x) for x in name.split("."))


def test_versions_before_the_oldest_profile_are_refused() -> None:
    with pytest.raises(ConfigError, match="older than the oldest modelled release 4.5"):
        load_config({"cloudstack_version": "4.4.2"})
    with pytest.raises(ConfigError, match="not a CloudStack version"):
        load_config({"cloudstack_version": "latest"})


def test_commands_appear_with_their_release(versioned) -> None:
    old, new = versioned("4.5.2"), versioned("4.20.1.0")
    zone = new.zone()
    assert new.call("getUploadParamsForTemplate", name="t", displaytext="t", format="VHD", hypervisor="XenServer",
                    ostypeid=new.ok("listOsTypes")["ostype"][0]["id"], zoneid=zone)[0] == 200
    status, body = old.call("getUploadParamsForTemplate", name="t")
    assert (status, body["errorcode"], body["cserrorcode"]) == (432, 432, 9999)
    assert body["errortext"] == "The given command does not exist or it is not available for user"
    assert versioned("4.7.1").call("changeOfferingForVolume", id="x")[0] == 432
    assert set(COMMANDS_SINCE) == {"getUploadParamsForTemplate", "changeOfferingForVolume"}


@pytest.mark.parametrize("version, status", [("4.10.0.0", 432), ("4.11.0.0", 401), ("4.15.2.0", 401)])
def test_unknown_command_answer_changed_in_4_11(versioned, version, status) -> None:
    """ApiServer.verifyRequest: 432 up to 4.10; from 4.11 the servlet's 401, as for wrong keys."""
    client = versioned(version)
    assert client.raw("changeOfferingForVolume", id="x").status_code == status
    assert client.raw("noSuchCommand").status_code == status


def _expires_status(client, expires: str) -> int:
    params = {"command": "listZones", "apikey": client.sim.api_key, "response": "json",
              "signatureVersion": "3", "expires": expires}
    params["signature"] = sign(params, client.sim.secret_key)
    return client.http.get(client.sim.endpoint, params=params, timeout=10).status_code


def test_expires_formats_per_generation(versioned) -> None:
    """Up to 4.11 SimpleDateFormat("yyyy-MM-dd'T'HH:mm:ssZ"); later DateUtil.parseTZDateString's ISO list.
    The accepted/refused pairs were checked against the JDK's own parsers."""
    soon = datetime.now(timezone.utc) + timedelta(minutes=5)
    rfc822 = soon.strftime("%Y-%m-%dT%H:%M:%S+0000")
    iso_z = soon.strftime("%Y-%m-%dT%H:%M:%SZ")
    iso_colon = soon.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    old, new = versioned("4.11.3.0"), versioned("4.19.1.0")
    assert [_expires_status(old, e) for e in (rfc822, iso_z, iso_colon)] == [200, 401, 401]
    assert [_expires_status(new, e) for e in (rfc822, iso_z, iso_colon)] == [200, 200, 200]


def test_unknown_parameters_are_ignored_not_refused(versioned) -> None:
    """ParamProcessWorker reads only the fields a command declares: keypairs (4.17) is dropped on 4.15."""
    client = versioned("4.15.2.0")
    vm = client.deploy(keypairs="bosh-key")
    assert not vm.get("keypairs") and not vm.get("keypair")
    assert client.deploy(keypair="bosh-key", name="vm-with-key")["keypair"] == "bosh-key"


def test_capabilities_fields_follow_the_release(versioned) -> None:
    old = versioned("4.5.2").ok("listCapabilities")["capability"]
    assert old["cloudstackversion"] == "4.5.2"
    assert "allowuserexpungerecovervm" not in old and "dynamicrolesenabled" not in old
    mid = versioned("4.9.3.0").ok("listCapabilities")["capability"]
    assert mid["dynamicrolesenabled"] is True and mid["allowuserexpungerecovervm"] is True
    assert "allowuserforcestopvm" not in mid
    assert versioned("4.20.1.0").ok("listCapabilities")["capability"]["allowuserforcestopvm"] is True


def test_resize_volume_offering_rules_before_4_17(versioned) -> None:
    """VolumeApiServiceImpl.resizeVolume before 4.17: no size-only resize of a fixed offering, no size with a
    fixed new offering; the offering change itself works (the CPI's route where changeOfferingForVolume is missing)."""
    client = versioned("4.15.2.0")
    small, large, custom = (client.disk_offering(n) for n in ("disk-small", "disk-large", "disk-custom"))
    fixed = client.result("createVolume", zoneid=client.zone(), diskofferingid=small, name="fixed")["volume"]
    job = client.job("resizeVolume", id=fixed["id"], size=20)
    assert job["jobstatus"] == 2 and "its current disk offering must be customizable" in job["jobresult"]["errortext"]
    job = client.job("resizeVolume", id=fixed["id"], diskofferingid=large, size=100)
    assert job["jobstatus"] == 2 and "cannnot pass in a custom disk size" in job["jobresult"]["errortext"]
    moved = client.result("resizeVolume", id=fixed["id"], diskofferingid=custom, size=30)["volume"]
    assert (moved["diskofferingid"], moved["size"]) == (custom, 30 * GB)
    moved = client.result("resizeVolume", id=fixed["id"], diskofferingid=large)["volume"]
    assert (moved["diskofferingid"], moved["size"]) == (large, 100 * GB)
    new = versioned("4.18.2.0")
    fixed = new.result("createVolume", zoneid=new.zone(), diskofferingid=new.disk_offering("disk-small"),
                       name="fixed")["volume"]
    assert new.result("resizeVolume", id=fixed["id"], size=20)["volume"]["size"] == 20 * GB


# (expires, accepted by DateUtil.parseTZDateString's formats, accepted by SimpleDateFormat("yyyy-MM-dd'T'HH:mm:ssZ")):
# each verdict was taken from the JDK's own parsers (OpenJDK 17), run on these strings.
JDK_VERDICTS = [
    ("2026-12-03T12:00:05+0000", True, True),
    ("2026-12-03T12:00:05-0530", True, True),
    ("2026-12-03T12:00:05Z", True, False),
    ("2026-12-03T12:00:05+00:00", True, False),
    ("2026-12-03T12:00:05+01", True, False),
    ("2026-12-03T12:00Z", True, False),
    ("2026-12-03T12:00+0000", False, False),
    ("2026-12-03T12:00:05.123Z", True, False),
    ("2026-12-03T12:00:05.123+0000", False, False),
    ("2026-12-03T12:00:05.123456+0000", True, False),
    ("2026-12-03T12:00:05.123456789+01:30", True, False),
    ("2026-12-03T12:00:05.Z", True, False),
    ("2026-12-03T12:00:05Z+0000", True, False),
    ("2026-12-03T12:00:05GMT+01:00", False, True),
    ("2026-12-03T12:00:05+0000xyz", False, True),
    ("2026-12-3T12:00:05+0000", False, True),
    ("2026-12-03 12:00:05+0000", False, False),
]


@pytest.mark.parametrize(("text", "iso", "simple"), JDK_VERDICTS)
def test_expires_parsers_agree_with_the_jdk(text, iso, simple) -> None:
    from cloudstack_simulator.signing import ExpiresError, parse_expires, parse_expires_simpledateformat

    for parser, accepted in ((parse_expires, iso), (parse_expires_simpledateformat, simple)):
        if accepted:
            assert parser(text).utcoffset() is not None
        else:
            with pytest.raises(ExpiresError):
                parser(text)
