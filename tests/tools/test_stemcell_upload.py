"""``cloudstack-cpi stemcell upload STEMCELL.tgz`` against the simulator, as an operator runs it."""

from __future__ import annotations

import bz2
import hashlib
import io
import json
import os
import pty
import select
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloudstack_simulator import Simulator
from cpi_framework.testing import cpi_command, make_cpi_config
from cpi_framework.tools.stemcell import Progress, _bar_line, extract_stemcell

CLOUD_PROPERTIES = {
    "name": "bosh-cloudstack-xen-ubuntu-jammy-go_agent", "version": "1.181", "infrastructure": "cloudstack",
    "hypervisor": "xen", "disk": 5120, "disk_format": "vhdx", "container_format": "bare", "os_type": "linux",
    "os_distro": "ubuntu", "architecture": "x86_64", "auto_disk_config": True,
}


def make_stemcell(path: Path, image: bytes, *, image_first: bool = True, **cloud_properties: Any) -> Path:
    """A stemcell tarball shaped like bosh.io's: stemcell.MF, image, packages list, in a gzip'd tar."""
    manifest = {"name": "bosh-cloudstack-xen-ubuntu-jammy-go_agent", "version": "1.181",
                "operating_system": "ubuntu-jammy", "stemcell_formats": ["cloudstack-vhdx"], "api_version": 3,
                "sha1": "0" * 40, "cloud_properties": {**CLOUD_PROPERTIES, **cloud_properties}}
    members = [("image", image), ("stemcell.MF", yaml.safe_dump(manifest).encode()),
               ("packages.txt", b"ii  bash 5.1\n")]
    if not image_first:
        members.reverse()
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members:
            info = tarfile.TarInfo(f"./{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def run_tool(*args: str, stderr_tty: bool = False, timeout: float = 60) -> tuple[int, str, str]:
    command = [*cpi_command(), "stemcell", *args]
    if not stderr_tty:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        return proc.returncode, proc.stdout, proc.stderr
    master, slave = pty.openpty()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    chunks, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    stdout = proc.stdout.read().decode() if proc.stdout else ""
    proc.wait(timeout=max(deadline - time.monotonic(), 1))
    return proc.returncode, stdout, b"".join(chunks).decode("utf-8", "replace")


@pytest.fixture
def sim_config(tmp_path: Path):  # noqa: ANN201
    with Simulator() as sim:
        yield sim, make_cpi_config(sim, "xen", tmp_path)


def test_upload_prints_the_cid_and_registers_the_image(sim_config, tmp_path: Path) -> None:
    sim, config = sim_config
    image = bz2.compress(os.urandom(64 * 1024))
    tarball = make_stemcell(tmp_path / "stemcell.tgz", image)
    code, out, err = run_tool("upload", str(tarball), "--config", str(config), "--director-uuid", "dir-uuid-1")
    assert code == 0, err
    cid = out.strip()
    (template,) = [t for t in sim.inventory()["templates"] if t["id"] == cid]
    assert template["isready"] and template["upload"]["bytes"] == len(image)
    assert template["name"].startswith("bosh-cloudstack-xen-ubuntu-jammy-go_agent-1.181-")
    assert {t["key"]: t["value"] for t in template["tags"]}["bosh-director-uuid"] == "dir-uuid-1"
    assert "registered" in err and "image 64" in err
    assert "%" not in err, err  # a quick upload of a small image into a log: no progress lines at all
    assert "\r" not in err  # plain lines when stderr is not a terminal


def test_upload_of_an_openstack_kvm_stemcell_registers_root_img(tmp_path: Path) -> None:
    root = b"QFI\xfb" + os.urandom(128 * 1024)  # the qcow2 disk
    inner = io.BytesIO()  # the stemcell's `image`: `tar zcf image root.img`, as the stemcell builder packs it
    with tarfile.open(fileobj=inner, mode="w:gz") as tar:
        info = tarfile.TarInfo("root.img")
        info.size = len(root)
        tar.addfile(info, io.BytesIO(root))
    tarball = make_stemcell(tmp_path / "kvm.tgz", inner.getvalue(), name="bosh-openstack-kvm-ubuntu-jammy-go_agent",
                            infrastructure="openstack", hypervisor="kvm", disk_format="qcow2")
    with Simulator({"templates": {"check_content": True}}) as sim:
        config = make_cpi_config(sim, "kvm", tmp_path)
        code, out, err = run_tool("upload", str(tarball), "--config", str(config), "--json", "--verbose")
        assert code == 0, err
        summary = json.loads(out)
        (template,) = [t for t in sim.inventory()["templates"] if t["id"] == summary["cid"]]
    assert template["isready"] and template["format"] == "QCOW2" and template["upload"]["filename"].endswith(".qcow2")
    assert template["upload"]["bytes"] == len(root)
    assert template["upload"]["sha256"] == hashlib.sha256(root).hexdigest()
    assert "'root.img'" in err and "streamed out of the archive" in err


def test_upload_json_output_with_tags_and_manifest_after_image(sim_config, tmp_path: Path) -> None:
    sim, config = sim_config
    tarball = make_stemcell(tmp_path / "s.tgz", bz2.compress(b"x" * 1000), image_first=False)
    code, out, err = run_tool("upload", str(tarball), "--config", str(config), "--json", "--tag", "team=platform")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["error"] is None and summary["version"] == "1.181" and summary["image_bytes"] > 0
    (template,) = [t for t in sim.inventory()["templates"] if t["id"] == summary["cid"]]
    assert {t["key"]: t["value"] for t in template["tags"]}["team"] == "platform"


def test_upload_draws_a_progress_bar_on_a_terminal(sim_config, tmp_path: Path) -> None:
    _, config = sim_config
    tarball = make_stemcell(tmp_path / "s.tgz", bz2.compress(os.urandom(256 * 1024)))
    code, out, err = run_tool("upload", str(tarball), "--config", str(config), stderr_tty=True)
    assert code == 0, err
    assert "\r" in err and "[" in err and "#" in err and "100.0%" in err
    assert out.strip()


def test_light_stemcell_tarball(sim_config, tmp_path: Path) -> None:
    sim, config = sim_config
    tarball = make_stemcell(tmp_path / "light.tgz", b"", light_template="bosh-stemcell-xen")
    code, out, err = run_tool("upload", str(tarball), "--config", str(config))
    assert code == 0, err
    assert out.strip().endswith(" light")
    assert "upload" not in sim.request_counts()


def test_cpi_error_exits_1_with_the_message(sim_config, tmp_path: Path) -> None:
    sim, config = sim_config
    sim.faults.fail_templates(1, status="Upload Error: disk full")
    tarball = make_stemcell(tmp_path / "s.tgz", bz2.compress(b"y" * 100))
    code, out, err = run_tool("upload", str(tarball), "--config", str(config))
    assert code == 1
    assert "Bosh::Clouds::CloudError" in err and "disk full" in err
    assert out == ""


def test_not_a_stemcell_tarball_exits_2(sim_config, tmp_path: Path) -> None:
    _, config = sim_config
    junk = tmp_path / "junk.tgz"
    junk.write_bytes(b"not a tarball at all")
    code, _, err = run_tool("upload", str(junk), "--config", str(config))
    assert code == 2 and "cannot read stemcell tarball" in err
    no_manifest = tmp_path / "nomf.tgz"
    with tarfile.open(no_manifest, "w:gz") as tar:
        info = tarfile.TarInfo("image")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
    code, _, err = run_tool("upload", str(no_manifest), "--config", str(config))
    assert code == 2 and "no stemcell.MF" in err


def test_help_works() -> None:
    code, _, err_or_out = run_tool("upload", "--help")
    assert code == 0
    code, out, err = run_tool("--help")
    assert code == 0 and "upload" in out + err


def test_extract_streams_only_the_image_and_manifest(tmp_path: Path) -> None:
    tarball = make_stemcell(tmp_path / "s.tgz", b"IMAGE-BYTES")
    work = tmp_path / "work"
    work.mkdir()
    stemcell = extract_stemcell(str(tarball), str(work))
    assert sorted(os.listdir(work)) == ["image"]
    assert Path(stemcell.image_path).read_bytes() == b"IMAGE-BYTES" and stemcell.image_size == 11
    assert stemcell.cloud_properties["hypervisor"] == "xen" and stemcell.name.endswith("go_agent")


def test_progress_plain_lines_are_throttled_by_time_and_size() -> None:
    """issue 19 item 13: a 300 KiB image printed 11 lines at "476.8 GiB/s"; now a quick phase prints none."""
    stream, now = io.StringIO(), [0.0]
    progress = Progress(stream, tty=False, clock=lambda: now[0])
    for done in range(0, 101):  # one second in all
        now[0] += 0.01
        progress.update("Extracting image", done, 100)
    progress.finish()
    assert stream.getvalue() == ""

    for done in range(0, 101):  # 50 s: a line per 10 % (each at least 5 s apart), rates that make sense
        now[0] += 0.5
        progress.update("Uploading", done * 1024 * 1024, 100 * 1024 * 1024)
    lines = stream.getvalue().splitlines()
    assert 9 <= len(lines) <= 12 and lines[-1].startswith("Uploading: 100%"), lines
    assert all(line.endswith("/s") and "GiB/s" not in line for line in lines), lines

    stream.truncate(0), stream.seek(0)
    for done in range(0, 101):  # ten minutes: still a line at least every 30 s
        now[0] += 6.0
        progress.update("Uploading again", done, 100)
    lines = stream.getvalue().splitlines()
    assert 19 <= len(lines) <= 22, lines


def test_bar_shows_no_rate_before_there_is_one() -> None:
    stream, now = io.StringIO(), [0.0]
    progress = Progress(stream, tty=True, clock=lambda: now[0])
    now[0] += 0.001
    progress.update("Uploading", 300 * 1024, 300 * 1024)
    assert "100.0%" in stream.getvalue() and "/s" not in stream.getvalue()


def test_invalid_tarball_fails_before_any_progress(sim_config, tmp_path: Path) -> None:
    _, config = sim_config
    junk = tmp_path / "junk.tgz"
    junk.write_bytes(b"\x1f\x8b" + b"not really gzip" * 100)
    code, _, err = run_tool("upload", str(junk), "--config", str(config), stderr_tty=True)
    assert code == 2 and "cannot read stemcell tarball" in err
    assert "Extracting" not in err and "%" not in err, err


def test_progress_bar_line_fits_the_width() -> None:
    line = _bar_line("Uploading x.vhd.bz2 to zone zone-xen", 42.0, 420, 1000, 100.0, 80)
    assert len(line) <= 80 and "42.0%" in line and line.count("#") > 0
