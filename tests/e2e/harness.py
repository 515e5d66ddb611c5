"""The e2e's pieces: the real bosh CLI, the releases and stemcells it consumes, the simulator it drives.

Every step prints one ``e2e: ...`` line (run pytest with ``-s`` to see the story as it happens);
a failed ``bosh`` command raises with the tail of its output, so a failure names what the CLI,
the CPI or the agent said.
"""

from __future__ import annotations

import bz2
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BOSH_DEPLOYMENT = HERE / "data" / "bosh-deployment"
MANIFESTS = REPO / "release" / "manifests" / "cloudstack"
E2E_OPS = HERE / "manifests" / "simulator.yml"
MINIMAL_RELEASE = HERE / "minimal-release"
PLUGINS = ("xen", "kvm", "vmware")
HYPERVISOR = {"xen": "XenServer", "kvm": "KVM", "vmware": "VMware"}
TEMPLATE_FORMAT = {"xen": "VHD", "kvm": "QCOW2", "vmware": "OVA"}
NETWORK = {"cidr": "127.0.10.0/24", "gateway": "127.0.10.1"}
INTERNAL_IP = "127.0.10.10"
BOSH_TIMEOUT = 600


def tools_dir() -> Path:
    return Path(os.environ["CPI_E2E_BIN"]).resolve()


def step(message: str) -> None:
    """One line of the story, flushed at once."""
    print(f"e2e: {message}", file=sys.stderr, flush=True)


class BoshFailed(AssertionError):
    """A bosh command failed; the message ends with the tail of its output."""


def bosh(args: list[str], *, home: Path, cwd: Path | None = None, timeout: int = BOSH_TIMEOUT,
         log: Path | None = None, watch: Callable[[], str | None] | None = None, tty: bool = False) -> str:
    """Run the real bosh CLI (non-interactive, no colour) and return its output.

    ``watch`` is asked every second while the CLI runs; a message from it stops the CLI and
    fails at once (e.g. the VM's agent died: the CLI would wait ten minutes for it). ``tty``:
    the CLI's stage-by-stage story, which it leaves out without a terminal (not for ``int``,
    whose output must stay YAML).
    """
    env = {
        "HOME": str(home), "PATH": os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep)
                                                    if ".venv" not in p),
        "BOSH_NON_INTERACTIVE": "true", "BOSH_LOG_LEVEL": os.environ.get("BOSH_LOG_LEVEL", "none"),
        "LANG": "C.UTF-8", "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
    }
    started = time.monotonic()
    with tempfile.TemporaryFile("w+", encoding="utf-8") as output:
        command = [str(tools_dir() / "bosh"), "--no-color", *(["--tty"] if tty else []), *args]
        proc = subprocess.Popen(command, cwd=cwd, env=env, text=True, stdin=subprocess.DEVNULL, stdout=output,
                                stderr=subprocess.STDOUT, start_new_session=True)
        reason = None
        while proc.poll() is None:
            if time.monotonic() - started > timeout:
                reason = f"no result within {timeout}s"
            elif watch is not None:
                reason = watch()
            if reason:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
                break
            time.sleep(1)
        output.seek(0)
        text = output.read()
    if log is not None:
        with log.open("a", encoding="utf-8") as handle:
            handle.write(f"$ bosh {' '.join(args)}\n{text}\n")
    if reason or proc.returncode != 0:
        tail = "\n".join(text.splitlines()[-40:])
        why = f"stopped: {reason}" if reason else f"failed (exit {proc.returncode})"
        raise BoshFailed(f"bosh {args[0]} {why} after {time.monotonic() - started:.0f}s:\n{tail}")
    return text


def run_logged(command: list[str], log: Path, timeout: int = BOSH_TIMEOUT) -> None:
    """Run a build step with its output in ``log``; a failure shows the log's tail."""
    with log.open("w", encoding="utf-8") as handle:
        proc = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, text=True, timeout=timeout,
                              check=False)
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(encoding="utf-8").splitlines()[-30:])
        raise AssertionError(f"{Path(command[1]).name} failed (exit {proc.returncode}); {log}:\n{tail}")


def sha1(path: Path) -> str:
    digest = hashlib.sha1()  # noqa: S324 - the manifest's release/stemcell checksum is SHA-1
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def build_minimal_release(out: Path, home: Path) -> Path:
    """``bosh create-release`` of tests/e2e/minimal-release, from a scratch copy."""
    work = out.parent / "minimal-release"
    if work.exists():
        subprocess.run(["rm", "-rf", str(work)], check=True)
    subprocess.run(["cp", "-r", str(MINIMAL_RELEASE), str(work)], check=True)
    bosh(["create-release", "--dir", str(work), "--force", "--version", "1+e2e", "--tarball", str(out)], home=home)
    return out


def _vhd_footer(size: int) -> bytes:
    import struct

    footer = bytearray(512)
    struct.pack_into(">8sIIQ4s4s4sQQI", footer, 0, b"conectix", 2, 0x00010000, 0xFFFFFFFFFFFFFFFF, b"pycs",
                     b"\x00\x01\x00\x00", b"Wi2k", size, size, 2)
    struct.pack_into(">I", footer, 64, ~sum(footer) & 0xFFFFFFFF)
    return bytes(footer)


def _tar_members(members: list[tuple[str, bytes]], mode: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode, format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def stemcell_image(plugin: str, size: int = 1 << 20) -> bytes:
    """A tiny image in the plugin's stemcell format (bz2 VHD, OpenStack image tarball, OVA)."""
    if plugin == "xen":
        return bz2.compress(bytes(size) + _vhd_footer(size))
    if plugin == "kvm":
        import struct

        qcow2 = struct.pack(">4sIQIIQIIQQIIQ", b"QFI\xfb", 3, 0, 0, 16, size, 0, 1, 0x30000, 0x10000, 1, 0, 0)
        return _tar_members([("root.img", qcow2 + bytes(4096))], "w:gz")
    return _tar_members([("stemcell.ovf", b"<?xml version='1.0'?><Envelope/>"), ("disk1.vmdk", bytes(4096))], "w")


def stemcell_properties(plugin: str) -> dict[str, Any]:
    infrastructure, disk_format = {"xen": ("cloudstack", "vhdx"), "kvm": ("openstack", "qcow2"),
                                   "vmware": ("cloudstack", "ova")}[plugin]
    return {"name": f"bosh-cloudstack-{plugin}-ubuntu-jammy-go_agent", "version": "1.0",
            "infrastructure": infrastructure, "hypervisor": plugin, "disk": 5120, "disk_format": disk_format,
            "container_format": "bare", "os_type": "linux", "os_distro": "ubuntu", "architecture": "x86_64"}


def build_stemcell(plugin: str, out: Path) -> Path:
    """A stemcell tarball as the builder lays it out: ``stemcell.MF`` and ``image``."""
    image = stemcell_image(plugin)
    props = stemcell_properties(plugin)
    manifest = {"name": props["name"], "version": props["version"], "api_version": 3, "bosh_protocol": "1",
                "operating_system": "ubuntu-jammy", "stemcell_formats": [f"{props['infrastructure']}-"
                                                                          f"{props['disk_format']}"],
                "sha1": hashlib.sha1(image).hexdigest(),  # noqa: S324 - the stemcell format's checksum
                "cloud_properties": props}
    out.write_bytes(_tar_members([("stemcell.MF", yaml.safe_dump(manifest).encode()), ("image", image)], "w:gz"))
    return out


def simulator_config(plugin: str, agent_binary: Path, work_dir: Path) -> dict[str, Any]:
    """One zone of the plugin's hypervisor, one virtual-router network on 127.0.10.0/24, agents on."""
    return {
        "job_duration": 0,
        "zones": [{"name": f"zone-{plugin}", "hypervisor": HYPERVISOR[plugin],
                   "networks": [{"name": "bosh-net", "offering": "bosh-isolated-vr", **NETWORK}],
                   "public_ips": [], "templates": []}],
        "guest_agent": {"binary": str(agent_binary), "work_dir": str(work_dir)},
    }


def deployment_vars(plugin: str, sim: Any, paths: dict[str, Path], *, offering: str, disk_size: int) -> dict[str, str]:
    """The ``-v`` variables of the e2e's create-env (docs/operations.md walkthrough)."""
    return {
        "director_name": f"e2e-{plugin}", "internal_ip": INTERNAL_IP, "internal_gw": NETWORK["gateway"],
        "internal_cidr": NETWORK["cidr"],
        "cloudstack_cpi_release_url": f"file://{paths['cpi_release']}",
        "cloudstack_cpi_release_sha1": sha1(paths["cpi_release"]),
        "cloudstack_stemcell_url": f"file://{paths['stemcell']}", "cloudstack_stemcell_sha1": sha1(paths["stemcell"]),
        "e2e_minimal_release_url": f"file://{paths['minimal_release']}",
        "e2e_minimal_release_sha1": sha1(paths["minimal_release"]),
        "cloudstack_endpoint": sim.endpoint, "cloudstack_api_key": sim.api_key,
        "cloudstack_secret_access_key": sim.secret_key, "cloudstack_zone": f"zone-{plugin}",
        "cloudstack_default_key_name": "bosh-key", "cloudstack_network_name": "bosh-net",
        "cloudstack_compute_offering": offering, "cloudstack_ephemeral_disk_offering": "disk-custom",
        "cloudstack_disk_offering": "disk-custom", "persistent_disk_size": str(disk_size),
        "agent_blobstore_path": str(paths["agent_blobs"]),
    }


def ops_files(plugin: str) -> list[Path]:
    files = [MANIFESTS / "cpi.yml"]
    if plugin != "xen":
        files.append(MANIFESTS / f"{plugin}.yml")
    return [*files, E2E_OPS]


def create_env_args(command: str, plugin: str, variables: dict[str, str], state: Path, creds: Path) -> list[str]:
    args = [command, str(BOSH_DEPLOYMENT / "bosh.yml")]
    for ops in ops_files(plugin):
        args += ["-o", str(ops)]
    args += ["--state", str(state), "--vars-store", str(creds)]
    for key, value in variables.items():
        args += ["-v", f"{key}={value}"]
    return args


def read_state(state: Path) -> dict[str, Any]:
    return json.loads(state.read_text(encoding="utf-8")) if state.exists() else {}
