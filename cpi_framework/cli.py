"""The ``cloudstack-cpi`` executable: one request on stdin, one response on stdout, exit 0.

``cloudstack-cpi --config PATH`` is the RPC the director runs. Operator subcommands
(``check``, ``plugins``, ``orphans``, ``call``, ``stemcell``, ``simulator``) live under the
same script and are imported only when named. Nothing but the response reaches stdout: while
a method runs, ``sys.stdout`` points at stderr, so a stray print cannot corrupt the protocol.
"""

from __future__ import annotations

import json
import sys
from typing import Any

SUBCOMMANDS = {
    "check": "cpi_framework.tools.check:main",
    "plugins": "cpi_framework.tools.plugins:main",
    "orphans": "cpi_framework.tools.orphans:main",
    "call": "cpi_framework.tools.call:main",
    "stemcell": "cpi_framework.tools.stemcell:main",
    "simulator": "cloudstack_simulator.cli:main",
    "demo": "cpi_framework.tools.demo:main",
}

USAGE = """usage: cloudstack-cpi --config PATH            (the CPI: JSON request on stdin, JSON response on stdout)
       cloudstack-cpi COMMAND [--help] ...     (operator tools)

commands:
  check      validate the config and the cloud it points at
  plugins    list installed hypervisor plugins and the active one
  orphans    find (and with --delete remove) resources this CPI left behind
  call       run one CPI method from the command line, pretty-printed
  stemcell   upload a stemcell tarball with progress
  simulator  run the embedded CloudStack simulator
  demo       run a full CPI lifecycle against the embedded simulator
"""


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        return _subcommand(argv[0], argv[1:])
    if argv and argv[0] in {"-h", "--help", "help"}:
        sys.stderr.write(USAGE)
        return 0
    config_path, problem = _config_argument(argv)
    raw = sys.stdin.buffer.read()
    reply = run_rpc(raw, config_path, problem)
    out = sys.__stdout__ if sys.__stdout__ is not None else sys.stdout
    out.write(json.dumps(reply, default=str))
    out.flush()
    return 0


def _config_argument(argv: list[str]) -> tuple[str | None, str | None]:
    path: str | None = None
    rest = list(argv)
    while rest:
        arg = rest.pop(0)
        if arg == "--config" and rest:
            path = rest.pop(0)
        elif arg.startswith("--config="):
            path = arg.split("=", 1)[1]
        elif not arg.startswith("-") and path is None:
            path = arg  # bin/cpi conventions of other CPIs pass the config file positionally
        else:
            return path, f"unexpected command-line argument '{arg}'; {USAGE.splitlines()[0]}"
    if path is None:
        return None, "missing --config PATH (the CPI config file)"
    return path, None


def run_rpc(raw: bytes, config_path: str | None, problem: str | None = None) -> dict[str, Any]:
    """Handle one request; never raises, always returns the response object."""
    from cpi_framework.dispatch import Dispatcher

    saved = sys.stdout
    sys.stdout = sys.stderr
    try:
        return Dispatcher(config_path, argv_problem=problem).handle(raw)
    finally:
        sys.stdout = saved


def _subcommand(name: str, argv: list[str]) -> int:
    import importlib

    module_name, _, function = SUBCOMMANDS[name].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        sys.stderr.write(f"cloudstack-cpi {name}: not available in this installation ({exc})\n")
        return 2
    return int(getattr(module, function)(argv) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
