"""``cloudstack-cpi plugins``: listing, the active chain, JSON, and clear failures - via the real script."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from meta_dists import BROKEN_DIST, DUP_DIST, HOOKS_DIST

from cpi_framework.testing import cpi_command


def plugins(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cpi_command(), "plugins", *args], capture_output=True, text=True, timeout=60)


def config_file(tmp_path: Path, hypervisor: str) -> str:
    path = tmp_path / f"{hypervisor}.json"
    path.write_text(json.dumps({"cloudstack": {"endpoint": "http://127.0.0.1:9/client/api", "api_key": "k",
                                               "secret_access_key": "s", "default_zone": "z",
                                               "hypervisor": hypervisor}}))
    return str(path)


def test_help() -> None:
    proc = plugins("--help")
    assert proc.returncode == 0
    assert "usage: cloudstack-cpi plugins" in proc.stdout and "--config" in proc.stdout and "--json" in proc.stdout


def test_lists_shipped_plugins_without_a_config() -> None:
    proc = plugins()
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["NAME", "VERSION", "DISTRIBUTION", "HYPERVISOR", "EXTENDS", "STEMCELL", "FORMATS"]
    xen = next(line.split() for line in lines if " cpi-framework-xen " in line)
    assert xen == ["xen", "0.1.0", "cpi-framework-xen", "XenServer", "-", "cloudstack-vhdx"]
    assert "xen hooks: cpi_attach_error_is_transient, cpi_disk_hint, cpi_guest_warnings, cpi_hypervisor" in proc.stdout
    assert not any(line.startswith("*") for line in lines) and "pass --config" in proc.stdout


def test_marks_the_active_plugin_and_its_chain(tmp_path: Path, with_dists: Any) -> None:
    with_dists(HOOKS_DIST)
    proc = plugins("--config", config_file(tmp_path, "meta-disk-hint"))
    assert proc.returncode == 0, proc.stderr
    marked = {line.split()[1]: line[0] for line in proc.stdout.splitlines() if line[:1] in "*+" and line.strip()}
    assert marked == {"meta-disk-hint": "*", "xen": "+"}
    row = next(line.split() for line in proc.stdout.splitlines() if " meta-disk-hint " in line)
    assert row[1:] == ["meta-disk-hint", "0.1", "cpi-meta-hooks", "XenServer", "xen", "cloudstack-vhdx"]
    assert "meta-disk-hint hooks: cpi_disk_hint, cpi_hypervisor" in proc.stdout
    assert "active: meta-disk-hint (extends xen)" in proc.stdout


def test_json(tmp_path: Path, with_dists: Any) -> None:
    with_dists(HOOKS_DIST)
    proc = plugins("--config", config_file(tmp_path, "meta-hypervisor"), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert (report["active"], report["active_chain"], report["error"]) == ("meta-hypervisor",
                                                                           ["xen", "meta-hypervisor"], None)
    row = next(p for p in report["plugins"] if p["name"] == "meta-hypervisor")
    assert row["stemcell_formats"] == ["meta-vhdx", "cloudstack-vhdx"] and row["hooks"] == ["cpi_hypervisor"]
    assert row["active"] and row["distribution"] == "cpi-meta-hooks" and row["extends"] == "xen"


def test_unknown_active_plugin_fails_listing_the_choices(tmp_path: Path) -> None:
    proc = plugins("--config", config_file(tmp_path, "hyperv"))
    assert proc.returncode == 1
    assert "unknown cloudstack.hypervisor 'hyperv': installed plugins are" in proc.stdout
    assert json.loads(plugins("--config", config_file(tmp_path, "hyperv"), "--json").stdout)["error"]


def test_duplicate_names_fail_naming_both_distributions(with_dists: Any) -> None:
    with_dists(HOOKS_DIST, DUP_DIST)
    proc = plugins()
    assert proc.returncode == 2
    assert "two plugins are named 'meta-hypervisor'" in proc.stderr
    assert "cpi-meta-hooks" in proc.stderr and "cpi-meta-dup" in proc.stderr
    assert json.loads(plugins("--json").stdout)["error"].startswith("two plugins are named")


def test_a_plugin_that_does_not_load_is_shown_and_fails_the_listing(with_dists: Any) -> None:
    with_dists(BROKEN_DIST)
    proc = plugins()
    assert proc.returncode == 1
    assert "meta-broken: failed to load: plugin 'meta-broken' from cpi-meta-broken 0.3 failed to load" in proc.stdout
    assert "xen hooks:" in proc.stdout  # the others are still listed


def test_unreadable_config_is_a_usage_error(tmp_path: Path) -> None:
    proc = plugins("--config", str(tmp_path / "missing.json"))
    assert proc.returncode == 2 and "cannot read config file" in proc.stderr


def test_the_whole_config_is_validated_with_a_suggestion(tmp_path: Path) -> None:
    """Not only cloudstack.hypervisor: a misspelled key anywhere fails as every other tool fails it."""
    path = Path(config_file(tmp_path, "xen"))
    path.write_text(json.dumps({**json.loads(path.read_text()), "cpi": {"agent": {"mbuss": "nats://n:4222"}}}))
    proc = plugins("--config", str(path))
    assert proc.returncode == 2 and proc.stdout == "", proc.stdout
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert f"invalid config file {path}: cpi.agent.mbuss: unknown key (did you mean 'cpi.agent.mbus'?)" in proc.stderr
    as_json = plugins("--config", str(path), "--json")
    assert as_json.returncode == 2 and "did you mean 'cpi.agent.mbus'" in json.loads(as_json.stdout)["error"]
