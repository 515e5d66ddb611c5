"""``cloudstack-cpi call METHOD [ARG ...]``: one CPI method from a shell, pretty-printed.

The request goes through the real CPI path - a child process of this same installation,
exactly as the director runs it - so what works here works under the director, and the
log shown is the response's own ``log`` (already redacted by the CPI).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from cpi_framework.tools.common import (
    EXIT_FAILED,
    EXIT_OK,
    ToolError,
    color,
    make_parser,
    print_json,
    run_tool,
)

EPILOG = """Each ARG is one positional argument of the method, read as JSON, else as YAML
(so `small` is the string "small" and `{cpu: 2}` an object), or @FILE to read it from a file.
Examples:
  cloudstack-cpi call info --config cpi.json
  cloudstack-cpi call has_vm 6f1c...-uuid --config cpi.json
  cloudstack-cpi call create_disk 10240 '{disk_offering: disk-custom}' null --config cpi.json
  cloudstack-cpi call set_vm_metadata VM-CID @metadata.yml --config cpi.json --api-version 2
Exit status: 0 on a result, 1 on an error response, 2 on a usage or config error."""


def parse_argument(text: str) -> Any:
    """An argument as JSON, else YAML; ``@path`` reads the file (JSON or YAML)."""
    if text.startswith("@") and len(text) > 1:
        path = Path(text[1:])
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ToolError(f"cannot read argument file {path}: {exc.strerror or exc}") from exc
    try:
        return json.loads(text)
    except ValueError:
        pass
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ToolError(f"argument {text[:40]!r} is neither JSON nor YAML: {exc}") from exc


def build_request(method: str, args: list[str], api_version: int | None, context: str | None,
                  debug: bool = False) -> dict[str, Any]:
    request: dict[str, Any] = {"method": method, "arguments": [parse_argument(a) for a in args]}
    if context:
        value = parse_argument(context)
        if not isinstance(value, dict):
            raise ToolError("--context must be an object (JSON/YAML or @file)")
        request["context"] = value
    else:
        request["context"] = {"director_uuid": "cloudstack-cpi-call"}
    if debug:  # the director's way to override config for one call: context.cpi
        request["context"] = {**request["context"], "cpi": {**request["context"].get("cpi", {}), "debug": True}}
    if api_version is not None:
        request["api_version"] = api_version
    return request


def cpi_command() -> list[str]:
    """The CPI executable of this installation (the console script, else ``python -m``)."""
    script = Path(sys.executable).parent / "cloudstack-cpi"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cpi_framework"]


def run_cpi(request: dict[str, Any], config: str, *, timeout: float | None = None,
            env: dict[str, str] | None = None) -> tuple[dict[str, Any], str]:
    """Run the CPI once: the parsed response and the process's stderr."""
    try:
        proc = subprocess.run(
            [*cpi_command(), "--config", config],
            input=json.dumps(request).encode(),
            capture_output=True,
            timeout=timeout,
            env=env if env is not None else dict(os.environ),
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ToolError(f"the CPI did not answer within {timeout:.0f}s") from exc
    stderr = proc.stderr.decode("utf-8", "replace")
    try:
        response = json.loads(proc.stdout)
    except ValueError as exc:
        raise ToolError(f"the CPI wrote no JSON response (exit {proc.returncode}); stderr:\n{stderr[-2000:]}") from exc
    if not isinstance(response, dict):
        raise ToolError("the CPI's response is not a JSON object")
    return response, stderr


def render(response: dict[str, Any], *, show_log: bool, stream: Any = None) -> None:
    import yaml

    out = stream or sys.stdout
    error = response.get("error")
    if error:
        out.write(color("error", "red", out) + f": {error.get('type')}: {error.get('message')}")
        out.write(f" (ok_to_retry: {str(error.get('ok_to_retry')).lower()})\n")
    else:
        out.write(color("result", "green", out) + ":")
        result = response.get("result")
        text = yaml.safe_dump(result, default_flow_style=False, sort_keys=False).rstrip()
        if isinstance(result, dict | list) and result:
            out.write("\n" + "\n".join("  " + line for line in text.splitlines()) + "\n")
        else:
            out.write(" " + json.dumps(result) + "\n")
    log = (response.get("log") or "").rstrip()
    if show_log and log:
        out.write(color("log", "dim", out) + ":\n")
        out.write("\n".join("  " + line for line in log.splitlines()) + "\n")


def main(argv: list[str]) -> int:
    parser = make_parser("call", "Run one CPI method through the real CPI process and pretty-print the answer.",
                         epilog=EPILOG)
    parser.add_argument("method", metavar="METHOD", help="CPI method name (info, create_vm, has_vm, ...)")
    parser.add_argument("args", metavar="ARG", nargs="*", help="positional arguments (JSON, YAML or @file)")
    parser.add_argument("--config", "-c", metavar="PATH", required=True, help="the CPI config file")
    parser.add_argument("--api-version", type=int, metavar="N", help="the request's api_version (1-3)")
    parser.add_argument("--context", metavar="JSON",
                        help="the request's context object (default: a director_uuid naming this tool)")
    parser.add_argument("--raw", action="store_true", help="print the CPI's response JSON as is")
    parser.add_argument("--debug", action="store_true",
                        help="set cpi.debug for this call: the log shows each CloudStack request (redacted)")
    parser.add_argument("--no-log", action="store_true", help="do not print the response's log")
    parser.add_argument("--timeout", type=float, default=3600, metavar="SECONDS",
                        help="give up waiting for the CPI after this long (default 3600)")
    args = parser.parse_args(argv)

    def body() -> int:
        from cpi_framework.config import load_config

        load_config(args.config)  # a config error is the operator's to fix: one line and exit 2, as every tool
        request = build_request(args.method, args.args, args.api_version, args.context, args.debug)
        response, _stderr = run_cpi(request, args.config, timeout=args.timeout)
        if args.raw:
            print_json(response)
        else:
            render(response, show_log=not args.no_log)
        return EXIT_FAILED if response.get("error") else EXIT_OK

    return run_tool(body)
