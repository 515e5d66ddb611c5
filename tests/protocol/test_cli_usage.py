"""The command line a person types vs. the one the director runs (issue 19 item 3).

The director runs ``cloudstack-cpi --config PATH`` with a pipe on stdin and must always get one
JSON response and exit 0. A person gets a command line: help and ``--version`` on stdout, exit
2 with usage for unknown words or a terminal on stdin (instead of waiting for JSON), and no
traceback on Ctrl-C.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest


def run(command: list[str], *args: str, stdin: bytes | None = b"") -> subprocess.CompletedProcess:
    return subprocess.run([*command, *args], input=stdin, capture_output=True, timeout=60)


@pytest.mark.parametrize("word, hint", [("chek", "did you mean 'check'"), ("orphan", "did you mean 'orphans'"),
                                        ("--versoin", "did you mean '--version'"), ("frobnicate", "")])
def test_unknown_words_give_usage_and_exit_2_without_reading_stdin(cpi_command, minimal_config, word, hint):
    # stdin left open: the old CLI sat waiting on it (the typo fell into CPI mode)
    proc = subprocess.Popen([*cpi_command, word, "--config", str(minimal_config)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 2
    assert out == b""
    assert b"usage: cloudstack-cpi" in err and word.encode() in err
    assert hint.encode() in err
    assert b"Traceback" not in err


def test_version_and_help_go_to_stdout(cpi_command):
    version = run(cpi_command, "--version")
    assert version.returncode == 0 and version.stdout.decode().startswith("cloudstack-cpi ")
    assert version.stdout.decode().split()[1][0].isdigit()
    for flag in ("--help", "-h", "help"):
        helped = run(cpi_command, flag)
        assert helped.returncode == 0
        assert b"usage: cloudstack-cpi" in helped.stdout and b"check" in helped.stdout
        assert helped.stderr == b""


def test_a_terminal_on_stdin_gets_usage_not_a_wait(cpi_command, minimal_config):
    leader, follower = os.openpty()
    try:
        proc = subprocess.run([*cpi_command, "--config", str(minimal_config)], stdin=follower,
                              capture_output=True, timeout=30)
    finally:
        os.close(leader)
        os.close(follower)
    assert proc.returncode == 2
    assert proc.stdout == b""
    assert b"JSON request on stdin" in proc.stderr


def test_the_directors_form_is_unchanged(cpi_command, minimal_config):
    request = json.dumps({"method": "info", "arguments": [], "context": {"director_uuid": "d"}}).encode()
    for args in (["--config", str(minimal_config)], [f"--config={minimal_config}"], [str(minimal_config)]):
        proc = run(cpi_command, *args, stdin=request)
        assert proc.returncode == 0
        response = json.loads(proc.stdout)
        assert response["error"] is None and response["result"]["api_version"] >= 1
    # without a config the director still gets one JSON response (an error), exit 0
    proc = run(cpi_command, stdin=request)
    assert proc.returncode == 0
    assert "--config" in json.loads(proc.stdout)["error"]["message"]


def _wait_until_reading_stdin(pid: int, limit: float = 20.0) -> None:
    """Until the process blocks in the pipe read (Linux wchan), bounded; at worst a fixed wait."""
    deadline = time.monotonic() + limit
    wchan = Path(f"/proc/{pid}/wchan")
    while time.monotonic() < deadline:
        try:
            if "pipe" in wchan.read_text():
                return
        except OSError:
            break
        time.sleep(0.05)
    time.sleep(1.0)


def test_ctrl_c_prints_no_traceback(cpi_command, minimal_config):
    proc = subprocess.Popen([*cpi_command, "--config", str(minimal_config)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_until_reading_stdin(proc.pid)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert b"Traceback" not in err and b"interrupted" in err
    assert out == b""
