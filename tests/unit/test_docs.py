"""Docs generated from code stay in step with it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_configuration_reference_is_current():
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "gen_config_reference.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_readme_first_code_block_holds_the_two_commands():
    text = (REPO / "README.md").read_text()
    block = text.split("```", 2)[1].split("\n", 1)[1]
    commands = [line for line in block.splitlines() if line.strip()]
    assert commands == ["bash scripts/demo", "bash scripts/test"]
    ci = (REPO / ".ci" / "run").read_text()
    assert "bash scripts/test" in ci


def test_public_api_is_sorted_and_resolves():
    import cpi_framework

    assert cpi_framework.__all__ == sorted(cpi_framework.__all__)
    for name in cpi_framework.__all__:
        assert getattr(cpi_framework, name) is not None


def test_user_data_json_is_compact_and_stable():
    from cpi_framework.types import UserData

    first = UserData.json({"b": 1, "a": {"y": [1, 2], "x": None}}, delivery="configdrive")
    assert first.data == b'{"a":{"x":null,"y":[1,2]},"b":1}'
    assert first.delivery == "configdrive"
    assert UserData.json({"a": {"x": None, "y": [1, 2]}, "b": 1}, delivery="configdrive") == first
