"""Secrets: a whole lifecycle with ``cpi.debug`` on prints no secret anywhere.

Scanned: every call's stderr, ``log`` and error message, the simulator's request log view, and
every file the CPI left in its own TMPDIR. Looked for: the api key and secret (chosen long and
distinctive), every request signature actually sent (captured from the simulator's raw side),
the mbus, blobstore and registry passwords, ``env.bosh.password``, a blobstore password inside
``env.bosh.blobstores`` and the PEM private key in ``env.bosh.mbus.cert.private_key`` - each in
plain, JSON-escaped, URL-encoded and base64 forms (:func:`reliability_support.secret_forms`).

The positive control proves the scan can fail: a third-party plugin (installed on PYTHONPATH
for the real process) writes ``env.bosh.password`` straight to stderr, and base64-encoded;
the scanner must find both, while the same plugin's log line through the CPI logger comes out
redacted.
"""

from __future__ import annotations

import base64
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from reliability_support import FIGURES, SecretScanner, director_env, scan_all, secret_forms

from cloudstack_simulator import Simulator
from cpi_framework.testing import make_cpi_config
from cpi_framework.testing.contract import STEMCELL_CONTEXT, dynamic

API_KEY = "rel-API-key-7f3a9c0e51b24d6e8a1f"
SECRET_KEY = "rel-SECRET~key/7Hq+Zp0=Wm3"
MBUS_PASSWORD = "mbus-Pa55-wOrd-91c3"
BLOB_PASSWORD = "blob-Pa55-wOrd-52aa"
REGISTRY_PASSWORD = "registry-Pa55-wOrd-0d1e"
BOSH_PASSWORD = "$6$rounds=5000$saltsalt$Qm9zaFBhc3N3b3JkSGFzaA"
ENV_BLOB_PASSWORD = "env-blobstore-Pa55-77ab"
PRIVATE_KEY = textwrap.dedent("""\
    -----BEGIN RSA PRIVATE KEY-----
    MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun
    VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK
    LxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW/VDL5AaWTg0nLVkjRo
    9z+40RQzuVaE8AkAFmxZzow3x+VJYKdjykkJ0iT9wCS0DRTXu269V264Vf/3jvre
    -----END RSA PRIVATE KEY-----
""")

LEAKY_PLUGIN = '''
"""A deliberately leaky plugin: the positive control of the secret scan."""
import base64
import logging
import sys

from cpi_framework.hookspecs import hookimpl
from cpi_framework.types import HypervisorSpec


@hookimpl
def cpi_hypervisor():
    return HypervisorSpec(name="leakyxen", extends="xen", stemcell_formats=("cloudstack-xen-vhd",))


@hookimpl
def cpi_agent_settings(settings, vm, context):
    password = settings["env"]["bosh"]["password"]
    sys.stderr.write("LEAK plain " + password + "\\n")
    sys.stderr.write("LEAK b64 " + base64.b64encode(("pw=" + password).encode()).decode() + "\\n")
    logging.getLogger("cpi.leaky").warning("through the CPI logger: %s", password)
'''


def env_with_secrets() -> dict[str, Any]:
    return {"bosh": {
        "group": "dir-dep-web", "groups": ["dir", "dep"],
        "password": BOSH_PASSWORD,
        "mbus": {"cert": {"ca": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
                          "certificate": "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n",
                          "private_key": PRIVATE_KEY}},
        "blobstores": [{"provider": "dav", "options": {"endpoint": "http://10.0.0.6:25250", "user": "agent",
                                                       "password": ENV_BLOB_PASSWORD}}],
        "tags": {"team": "cpi"},
    }}


def scanner_for(signatures: list[str]) -> SecretScanner:
    scanner = SecretScanner()
    for name, value in (("api_key", API_KEY), ("secret_access_key", SECRET_KEY), ("mbus password", MBUS_PASSWORD),
                        ("blobstore password", BLOB_PASSWORD), ("registry password", REGISTRY_PASSWORD),
                        ("env.bosh.password", BOSH_PASSWORD), ("env blobstore password", ENV_BLOB_PASSWORD)):
        scanner.add(name, value)
    scanner.add_pem("env.bosh.mbus.cert.private_key", PRIVATE_KEY)
    for index, signature in enumerate(sorted(set(signatures))):
        scanner.add(f"signature[{index}]", signature)
    return scanner


class RawCapture:
    """Wraps the simulator's request entry point to keep what was really sent (signatures included)."""

    def __init__(self, sim: Simulator) -> None:
        self.params: list[dict[str, str]] = []
        core = sim._core
        original = core.api

        def api(method: str, params: dict[str, str]) -> Any:
            self.params.append(dict(params))
            return original(method, params)

        core.api = api

    def signatures(self) -> list[str]:
        return [p["signature"] for p in self.params if p.get("signature")]


@pytest.fixture
def secret_sim() -> Any:
    with Simulator({"api_key": API_KEY, "secret_key": SECRET_KEY}) as sim:
        yield sim


def secret_config(sim: Any, tmp_path: Path, hypervisor: str = "xen") -> Path:
    return make_cpi_config(sim, hypervisor, tmp_path, cpi={
        "debug": True,
        "agent": {"mbus": f"nats://nats:{MBUS_PASSWORD}@10.0.0.6:4222"},
        "blobstore": {"agent": {"password": BLOB_PASSWORD}},
        "registry": {"endpoint": "http://127.0.0.1:9/registry", "user": "registry", "password": REGISTRY_PASSWORD},
    })


class Session:
    """Runs calls in the director's environment with a private TMPDIR and keeps every output."""

    def __init__(self, config: Path, tmpdir: Path, extra_env: dict[str, str] | None = None) -> None:
        self.config = config
        self.tmpdir = tmpdir
        tmpdir.mkdir(exist_ok=True)
        self.env = {**director_env(str(tmpdir)), **(extra_env or {})}
        self.outputs: list[tuple[str, str]] = []

    def __call__(self, method: str, *args: Any, expect_error: bool = False, context: Any = None) -> Any:
        from reliability_support import request, run_raw

        raw = request(method, *args, api_version=2, context=context or STEMCELL_CONTEXT)
        result = run_raw(self.config, raw, env=self.env)
        FIGURES.add("secret-scan calls")
        self.outputs += [(f"{method} stderr", result.stderr), (f"{method} log", result.document["log"]),
                         (f"{method} response", json.dumps(result.document))]
        if expect_error:
            assert result.error is not None, f"{method} unexpectedly succeeded"
        else:
            assert result.error is None, f"{method}: {result.error}\n{result.document['log'][-2000:]}"
        return result


def run_lifecycle(sim: Any, session: Session, image: Path) -> None:
    stemcell_props = {"name": "bosh-cloudstack-xen-ubuntu-jammy-go_agent", "version": "1.181",
                      "infrastructure": "cloudstack", "hypervisor": "xen", "architecture": "x86_64",
                      "os_type": "linux", "disk": 5120, "disk_format": "vhdx", "container_format": "bare"}
    stemcell = session("create_stemcell", str(image), stemcell_props).result
    vm_cid = session("create_vm", "agent-secret", stemcell, {"compute_offering": "small", "disk": 1024},
                     {"default": dynamic(default=["dns", "gateway"])}, [], env_with_secrets()).result[0]
    assert session("has_vm", vm_cid).result is True
    session("set_vm_metadata", vm_cid, {"director": "d", "deployment": "dep", "name": "web/0",
                                        "password": "not-a-secret-but-looks-like-one"})
    disk = session("create_disk", 2048, {}, vm_cid).result
    session("attach_disk", vm_cid, disk)
    session("set_disk_metadata", disk, {"deployment": "dep"})
    session("get_disks", vm_cid)
    snapshot = session("snapshot_disk", disk, {"deployment": "dep", "index": 0}).result
    session("delete_snapshot", snapshot)
    session("detach_disk", vm_cid, disk)
    session("reboot_vm", vm_cid)
    # error paths: messages are where secrets slip out
    session("create_vm", "agent-bad", stemcell, {"compute_offering": "small"}, {"default": dynamic(name="nope")},
            [], env_with_secrets(), expect_error=True)
    sim.faults.fail_next("deployVirtualMachine", errortext="Simulated failure while deploying")
    session("create_vm", "agent-bad", stemcell, {"compute_offering": "small"}, {"default": dynamic()},
            None, env_with_secrets(), expect_error=True)
    session("create_vm", 12, stemcell, {}, {}, None, env_with_secrets(), expect_error=True)  # wrong type, echoed
    session("create_vm", "agent-bad", stemcell, {}, {"default": dynamic()}, None, [env_with_secrets()],
            expect_error=True)
    session("delete_vm", vm_cid)
    session("delete_disk", disk)
    session("delete_stemcell", stemcell)
    session("has_vm", "no-such-vm")


def write_image(directory: Path) -> Path:
    import bz2

    image = directory / "image"
    image.write_bytes(bz2.compress(bytes(1 << 16)))
    return image


def test_lifecycle_with_debug_prints_no_secret(secret_sim, tmp_path):
    capture = RawCapture(secret_sim)
    config = secret_config(secret_sim, tmp_path)
    session = Session(config, tmp_path / "cpi-tmp")
    run_lifecycle(secret_sim, session, write_image(tmp_path))

    signatures = capture.signatures()
    assert len(signatures) > 20, "the raw capture saw too few signed requests"
    scanner = scanner_for(signatures)
    sources = list(session.outputs)
    sources.append(("simulator request log", json.dumps(secret_sim.request_log())))
    hits = scan_all(scanner, sources) + scanner.scan_files(session.tmpdir)
    FIGURES.add("secret-scan sources", len(sources))
    FIGURES.add("secret forms scanned", sum(len(secret_forms(v)) for v in scanner.secrets.values()))
    FIGURES.add("secret hits (must be 0)", len(hits))
    assert not hits, "\n".join(f"{h.secret} as {h.form!r} in {h.where}: ...{h.excerpt}..." for h in hits[:10])
    assert any("CloudStack" in text for where, text in sources if where.endswith("stderr")), \
        "cpi.debug on should log the CloudStack requests (otherwise this scan proves little)"
    assert not list(session.tmpdir.iterdir()), f"temp files left behind: {list(session.tmpdir.iterdir())}"

    # the raw capture is the control for signatures and keys: they were really sent
    raw_hits = scanner.scan(json.dumps(capture.params), "raw requests")
    found = {h.secret.split("[")[0] for h in raw_hits}
    assert {"api_key", "signature"} <= found


def test_positive_control_scan_finds_planted_secret(secret_sim, tmp_path):
    plugin_dir = tmp_path / "plugins"
    (plugin_dir / "cpi_leaky-0.1.dist-info").mkdir(parents=True)
    (plugin_dir / "cpi_leaky-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: cpi-leaky\n"
                                                                     "Version: 0.1\n")
    (plugin_dir / "cpi_leaky-0.1.dist-info" / "entry_points.txt").write_text("[cpi_framework]\n"
                                                                             "leakyxen = cpi_leaky\n")
    (plugin_dir / "cpi_leaky.py").write_text(LEAKY_PLUGIN)
    config = make_cpi_config(secret_sim, "xen", tmp_path, cloudstack={"hypervisor": "leakyxen"}, cpi={"debug": True})
    session = Session(config, tmp_path / "cpi-tmp", {"PYTHONPATH": str(plugin_dir)})
    stemcell = next(t["id"] for t in secret_sim.inventory()["templates"] if t["name"] == "bosh-stemcell-xen")
    result = session("create_vm", "agent-leak", stemcell, {"compute_offering": "small"}, {"default": dynamic()},
                     None, env_with_secrets())
    assert "LEAK plain" in result.stderr, "the leaky plugin was not loaded: the control proves nothing"
    scanner = scanner_for([])
    stderr_hits = scanner.scan(result.stderr, "stderr")
    names = {h.secret for h in stderr_hits}
    assert "env.bosh.password" in names
    forms = {h.form for h in stderr_hits if h.secret == "env.bosh.password"}
    assert BOSH_PASSWORD in forms and any(f != BOSH_PASSWORD and f in base64.b64encode(
        ("pw=" + BOSH_PASSWORD).encode()).decode() for f in forms), "base64 form not detected"
    FIGURES.add("positive-control hits", len(stderr_hits))
    # the same plugin's line through the CPI logger is redacted, in stderr and in the log field
    assert "through the CPI logger: <redacted>" in result.document["log"]
    assert not scanner.scan(result.document["log"], "log")


def test_scanner_finds_every_form():
    secret = "S3cr3t~/+= value"
    scanner = SecretScanner({"s": secret})
    for text in (f"x{secret}y", json.dumps({"a": secret}),
                 "q=S3cr3t~%2F%2B%3D%20value", "q=S3cr3t%7E%2F%2B%3D+value",
                 base64.b64encode(f"prefix-{secret}-suffix".encode()).decode(),
                 base64.b64encode(f"p{secret}".encode()).decode(), base64.b64encode(f"pp{secret}".encode()).decode(),
                 base64.urlsafe_b64encode(secret.encode()).decode()):
        assert scanner.scan(text, "t"), f"missed {text!r}"
    assert not scanner.scan("nothing to see here", "t")


def test_error_messages_are_redacted_like_log_lines(secret_sim, tmp_path):
    session = Session(secret_config(secret_sim, tmp_path), tmp_path / "cpi-tmp")
    short = "pw-0042-xyz"  # short enough to fit in the echoed excerpt of the argument
    result = session("create_vm", "agent-bad", "stemcell", {}, {"default": dynamic()}, None,
                     [{"password": short}], expect_error=True)
    scanner = SecretScanner({"env password": short})
    assert not scanner.scan(result.document["log"], "log"), "the log line must be redacted (it is)"
    assert not scanner.scan(result.error["message"], "error message")
