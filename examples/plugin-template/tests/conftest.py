"""Make this plugin discoverable for its tests, installed (``pip install -e .``) or not.

In a source checkout the fixture writes the ``.dist-info`` pip would write (from
pyproject.toml) into a temporary directory and puts it and the source on ``sys.path`` and
``PYTHONPATH``, so entry-point discovery runs for real, also in ``cloudstack-cpi`` processes.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def read_project(pyproject: Path) -> tuple[str, str, dict[str, dict[str, str]]]:
    """Name, version and entry points from pyproject.toml (the simple form this template uses)."""
    section, fields, groups = "", {}, {}
    for line in pyproject.read_text().splitlines():
        if header := re.match(r"^\[(.+)\]\s*$", line):
            section = header.group(1)
        elif pair := re.match(r'^\s*([\w.-]+)\s*=\s*"([^"]*)"', line):
            if section == "project":
                fields[pair.group(1)] = pair.group(2)
            elif section.startswith("project.entry-points."):
                groups.setdefault(section.split(".", 2)[2], {})[pair.group(1)] = pair.group(2)
    return fields["name"], fields["version"], groups


NAME, VERSION, ENTRY_POINTS = read_project(ROOT / "pyproject.toml")
PLUGIN_NAME = next(iter(ENTRY_POINTS["cpi_framework"]))


@pytest.fixture(scope="session", autouse=True)
def plugin_discoverable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    if any(ep.name == PLUGIN_NAME for ep in metadata.entry_points(group="cpi_framework")):
        yield  # pip-installed: test the real installation
        return
    site = tmp_path_factory.mktemp("site")
    info = site / f"{NAME.replace('-', '_')}-{VERSION}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n")
    lines: list[str] = []
    for group, points in ENTRY_POINTS.items():
        lines += [f"[{group}]", *(f"{key} = {value}" for key, value in points.items()), ""]
    (info / "entry_points.txt").write_text("\n".join(lines))
    saved_path, saved_env = list(sys.path), os.environ.get("PYTHONPATH")
    sys.path[:0] = [str(site), str(ROOT)]
    os.environ["PYTHONPATH"] = os.pathsep.join([str(site), str(ROOT), *([saved_env] if saved_env else [])])
    yield
    sys.path[:] = saved_path
    if saved_env is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = saved_env
