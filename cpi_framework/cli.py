"""The ``cloudstack-cpi`` executable: one request on stdin, one response on stdout, exit 0.

``cloudstack-cpi --config PATH`` is the RPC the director runs. Operator subcommands
(``check``, ``plugins``, ``orphans``, ``call``, ``stemcell``, ``simulator``) live under the
same script and are imported only when named. Nothing but the response reaches stdout: while
a method runs, ``sys.stdout`` points at stderr, so a stray print cannot corrupt the protocol.

A person at a terminal gets a command line instead: help and ``--version`` on stdout, and a
usage line with exit 2 for an unknown word or for RPC mode with a terminal on stdin (a typo'd
command must not sit waiting for JSON). The director's form - ``--config PATH`` and a pipe on
stdin - always gets exactly one JSON response and exit 0.
"""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

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
       cloudstack-cpi --version

commands:
  check      validate the config and the cloud it points at
  plugins    list installed hypervisor plugins and the active one
  orphans    find (and with --delete remove) resources this CPI left behind
  call       run one CPI method from the command line, pretty-printed
  stemcell   upload a stemcell tarball with progress
  simulator  run the embedded CloudStack simulator
  demo       run a full CPI lifecycle against the embedded simulator
"""

EXIT_USAGE, EXIT_INTERRUPTED = 2, 130
_HELP = {"-h", "--help", "help"}
_VERSION = {"-V", "--version", "version"}


class UsageError(Exception):
    """A command line no director sends: reported as one line plus usage, exit 2."""


def main(argv: list[str] | None = None) -> int:
    own_process = argv is None  # run as a program, not called by in-process code such as a test
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _main(argv, own_process)
    except UsageError as exc:
        sys.stderr.write(f"cloudstack-cpi: {exc}\n{USAGE}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `cloudstack-cpi check ... | head`: the reader left, no traceback
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's exit flush must not fail
        return 1


def _main(argv: list[str], own_process: bool = False) -> int:
    if argv and argv[0] in SUBCOMMANDS:
        return _subcommand(argv[0], argv[1:])
    if argv and argv[0] in _HELP:
        sys.stdout.write(USAGE)
        return 0
    if argv and argv[0] in _VERSION:
        sys.stdout.write(f"cloudstack-cpi {_version()}\n")
        return 0
    config_path, problem = _config_argument(argv)
    if _stdin_is_terminal():
        raise UsageError("the CPI reads one JSON request on stdin (the director pipes it in); "
                         "at a terminal, use one of the commands below")
    raw = sys.stdin.buffer.read()
    reply = run_rpc(raw, config_path, problem)
    out = sys.__stdout__ if sys.__stdout__ is not None else sys.stdout
    out.write(json.dumps(reply, default=str))
    out.flush()
    if own_process:
        _exit_after_response()
    return 0


def _exit_after_response() -> NoReturn:
    """End the process as soon as the response is out, skipping the interpreter's teardown.

    Finalising every module and object costs ~20 ms per call and does nothing a CPI call needs.
    What teardown would still do is done first: atexit callbacks (``logging.shutdown`` flushes
    and closes every log handler; a plugin's or library's own callbacks), then stdout and stderr
    are flushed. Temporary files and connections were closed by ``CallContext.close`` before
    the response was built, and the CPI starts no non-daemon threads.
    """
    import atexit
    import os

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass  # a closed or broken stream: nothing more can be written to it anyway
    os._exit(0)


def _config_argument(argv: list[str]) -> tuple[str | None, str | None]:
    """The config path; a missing one is left for the JSON response (the director reads it).

    :raises UsageError: for any word the director never sends - an unknown option, a second
        path, or a bare word that is neither a command nor a file (``chek``).
    """
    path: str | None = None
    rest = list(argv)
    while rest:
        arg = rest.pop(0)
        if arg == "--config" and rest:
            path = rest.pop(0)
        elif arg.startswith("--config="):
            path = arg.split("=", 1)[1]
        elif not arg.startswith("-") and path is None and _looks_like_path(arg):
            path = arg  # bin/cpi conventions of other CPIs pass the config file positionally
        else:
            raise UsageError(_unknown(arg))
    if path is None:
        return None, "missing --config PATH (the CPI config file)"
    return path, None


def _looks_like_path(word: str) -> bool:
    import os

    return os.sep in word or "." in word or os.path.exists(word)


def _unknown(word: str) -> str:
    import difflib

    if word == "--config":
        return "--config needs a PATH"
    kind = "option" if word.startswith("-") else "command"
    known = [*SUBCOMMANDS, "--config", "--help", "--version"]
    close = difflib.get_close_matches(word, known, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown {kind} '{word}'{hint}"


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):  # closed stdin: let the read report it
        return False


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cpi-framework")
    except PackageNotFoundError:
        return "unknown (not installed as a distribution)"


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
