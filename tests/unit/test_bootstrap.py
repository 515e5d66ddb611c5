"""scripts/bootstrap runs pip only when the install is out of date (issue 19 item 13: the demo re-ran pip
every time, 8 of its 13 s). Run in a copy of the repository's layout whose ``.venv/bin/python`` records
pip calls instead of making them."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def fake_checkout(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "bootstrap", root / "scripts" / "bootstrap")
    for name in ("pyproject.toml", "plugins/xen/pyproject.toml", "plugins/kvm/pyproject.toml",
                 "plugins/vmware/pyproject.toml"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, root / name)
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    python = bin_dir / "python"
    python.write_text(f'#!/bin/sh\nif [ "$1 $2" = "-m pip" ]; then echo "$@" >> "{root}/pip-calls"; exit 0; fi\n'
                      f'exec "{sys.executable}" "$@"\n')
    (bin_dir / "cloudstack-cpi").write_text("#!/bin/sh\n")
    for script in (python, bin_dir / "cloudstack-cpi"):
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return root


def bootstrap(root: Path, *args: str) -> int:
    """pip invocations made by one run."""
    before = len((root / "pip-calls").read_text().splitlines()) if (root / "pip-calls").exists() else 0
    env = {k: v for k, v in os.environ.items() if k != "BOOTSTRAP_FORCE"}
    subprocess.run(["bash", str(root / "scripts" / "bootstrap"), *args], check=True, timeout=60, env=env,
                   capture_output=True)
    after = len((root / "pip-calls").read_text().splitlines()) if (root / "pip-calls").exists() else 0
    return after - before


def test_pip_runs_once_until_what_it_installs_changes(tmp_path: Path) -> None:
    root = fake_checkout(tmp_path)
    assert bootstrap(root, "--test") == 2  # pip upgrade + the editable installs
    assert bootstrap(root, "--test") == 0
    assert bootstrap(root) == 0  # a --test install covers a plain one
    with (root / "plugins" / "kvm" / "pyproject.toml").open("a") as stream:
        stream.write("\n# a dependency changed\n")
    assert bootstrap(root) == 2
    assert bootstrap(root) == 0
    assert bootstrap(root, "--test") == 2  # the test extras are not installed yet for this version
    assert bootstrap(root) == 0 and bootstrap(root, "--test") == 0
