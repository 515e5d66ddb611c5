"""Shared plumbing of the operator tools: arguments, config loading, a context outside RPC, output.

The tools run under ``cloudstack-cpi COMMAND`` with the CPI's own config file, so they reuse
the CPI's config schema, plugin host and CloudStack client rather than twins of them. A tool
reports problems as :class:`ToolError` (one clear line, exit 2) and never prints a secret:
its log handler carries the same :class:`~cpi_framework.logs.Redactor` as the RPC.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import IO, TYPE_CHECKING, Any, NoReturn

from cpi_framework.errors import ConfigError, PluginError

if TYPE_CHECKING:
    from cpi_framework.config import Config
    from cpi_framework.context import CallContext
    from cpi_framework.logs import Redactor

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class ToolError(Exception):
    """A problem the operator must fix before the tool can run (bad config, unreachable file)."""


# -- arguments ---------------------------------------------------------------------------------


def common_options(*, config_required: bool = True, json_flag: bool = True) -> argparse.ArgumentParser:
    """An argparse parent with ``--config`` (and ``--json``, ``--verbose``) for ``parents=[...]``."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--config", "-c", metavar="PATH", required=config_required,
                        help="the CPI config file (JSON or YAML), as the release renders it")
    if json_flag:
        parent.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")
    parent.add_argument("--verbose", "-v", action="store_true",
                        help="log CloudStack requests and details to stderr (secrets redacted)")
    return parent


class _OneLineErrors(argparse.ArgumentParser):
    """A usage error is one line on stderr and exit 2, as for every tool (``--help`` has the rest)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def make_parser(name: str, description: str, *, parents: Sequence[argparse.ArgumentParser] = (),
                epilog: str | None = None) -> argparse.ArgumentParser:
    return _OneLineErrors(
        prog=f"cloudstack-cpi {name}",
        description=description,
        epilog=epilog,
        parents=list(parents),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def run_tool(body: Callable[[], int]) -> int:
    """Run a tool's body: ToolError/config errors → one line on stderr and exit 2; ^C → 130."""
    try:
        return body()
    except (ToolError, ConfigError, PluginError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``30m``, ``1h``, ``2d``, ``1w`` → seconds (for argparse ``type=``)."""
    match = _DURATION.match(text or "")
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (use e.g. 90s, 30m, 1h, 2d)")
    return float(match.group(1)) * _UNITS[match.group(2).lower()]


def format_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}{_rest(seconds % size, size)}"
    return f"{seconds}s"


def _rest(remainder: int, size: int) -> str:
    sub = {86400: ("h", 3600), 3600: ("m", 60), 60: ("s", 1)}[size]
    value = remainder // sub[1]
    return f"{value}{sub[0]}" if value else ""


# -- config and context ------------------------------------------------------------------------


def load_tool_config(path: str | None) -> Config:
    """The CPI config with the active plugin's defaults applied.

    :raises ToolError: naming the file and each offending key (the schema's messages).
    """
    if not path:
        raise ToolError("missing --config PATH (the CPI config file)")
    from cpi_framework.config import load_config
    from cpi_framework.plugin_system.host import PluginHost

    config = load_config(path)
    plugins = PluginHost(config.cloudstack.hypervisor)
    return config.with_plugin_defaults(plugins.defaults)


def tool_logger(name: str, *, verbose: bool = False, stream: IO[str] | None = None,
                secrets: Iterable[str] = (), level: int = logging.WARNING) -> tuple[logging.Logger, Redactor]:
    """A redacting logger for a tool: ``level`` and above on stderr, everything with ``verbose``."""
    from cpi_framework.logs import Redactor

    redactor = Redactor(secrets)
    logger = logging.getLogger(f"cpi-tools.{name}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setLevel(logging.DEBUG if verbose else level)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(redactor)
    logger.addHandler(handler)
    return logger, redactor


def tool_context(config: Config | str, name: str, *, verbose: bool = False, director_uuid: str | None = None,
                 stream: IO[str] | None = None, level: int = logging.WARNING) -> CallContext:
    """A CallContext outside any RPC call, so tools reuse the methods' services and client.

    ``director_uuid`` goes into ``ctx.request`` as the director would send it, so
    :func:`~cpi_framework.services.tags.cpi_tags` and friends behave as in a real call.
    """
    from cpi_framework.context import CallContext
    from cpi_framework.plugin_system.host import PluginHost

    if isinstance(config, str):
        config = load_tool_config(config)
    if verbose:  # the client logs each request (redacted) only with cpi.debug
        config = config._replace(cpi=config.cpi._replace(debug=True))
    plugins = PluginHost(config.cloudstack.hypervisor)
    logger, redactor = tool_logger(name, verbose=verbose, stream=stream, secrets=config.secrets(), level=level)
    request = {"director_uuid": director_uuid} if director_uuid else {}
    return CallContext(config, plugins, request=request, method=name, logger=logger, redactor=redactor)


# -- output ------------------------------------------------------------------------------------


def print_json(value: Any, stream: IO[str] | None = None) -> None:
    out = stream or sys.stdout
    out.write(json.dumps(value, indent=2, sort_keys=False, default=str) + "\n")
    out.flush()


def format_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str],
                 headers: Mapping[str, str] | None = None, *, max_width: int | None = 60) -> str:
    """A plain fixed-width table (no dependency); cells are cut at ``max_width`` (None: never)."""
    headers = headers or {}
    titles = [headers.get(c, c.upper()) for c in columns]
    cells = [[_cell(row.get(c), max_width) for c in columns] for row in rows]
    widths = [max([len(t)] + [len(r[i]) for r in cells]) for i, t in enumerate(titles)]
    lines = ["  ".join(t.ljust(w) for t, w in zip(titles, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def _cell(value: Any, max_width: int | None) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\n", " ")
    return text if max_width is None or len(text) <= max_width else text[: max_width - 1] + "…"


def is_terminal(stream: Any) -> bool:
    """Whether output goes to a person (cut long cells) rather than a file or pipe (keep everything)."""
    return bool(getattr(stream, "isatty", lambda: False)())


def color(text: str, code: str, stream: IO[str] | None = None) -> str:
    """ANSI colour only on a terminal (``code``: green, red, yellow, dim, bold)."""
    out = stream or sys.stdout
    if not getattr(out, "isatty", lambda: False)():
        return text
    codes = {"green": "32", "red": "31", "yellow": "33", "dim": "2", "bold": "1", "cyan": "36"}
    return f"\033[{codes.get(code, '0')}m{text}\033[0m"


def abbreviate(value: Any, limit: int = 100) -> str:
    """Compact JSON of a value, cut to ``limit`` characters (for one-line summaries)."""
    text = json.dumps(value, separators=(",", ":"), default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- CloudStack values -------------------------------------------------------------------------


def parse_cs_time(value: Any) -> datetime | None:
    """CloudStack's ``created`` (``2024-05-01T10:20:30+0000``) as an aware datetime; None if absent."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    match = re.match(r"^(.*[T ]\d\d:\d\d:\d\d(?:\.\d+)?)([+-]\d\d):?(\d\d)$", text)
    if match:
        text = f"{match.group(1)}{match.group(2)}:{match.group(3)}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def age_seconds(created: Any, now: datetime | None = None) -> float | None:
    when = parse_cs_time(created)
    if when is None:
        return None
    return ((now or datetime.now(timezone.utc)) - when).total_seconds()


# -- BOSH cloud-config -------------------------------------------------------------------------


class CloudConfigError(ToolError):
    """The cloud-config file is unreadable or not shaped like ``bosh cloud-config`` output."""


class UninterpolatedCloudConfig(CloudConfigError):
    """A cloud-config with ``((variables))`` left: interpolate it (``bosh int -l``) before checking."""


@dataclass(frozen=True)
class VmTypeRef:
    name: str
    compute_offering: str | None
    custom_compute: bool
    ephemeral_disk_offering: str | None
    ephemeral_mb: int | None


@dataclass(frozen=True)
class DiskTypeRef:
    name: str
    disk_offering: str | None
    size_mb: int | None


@dataclass(frozen=True)
class NetworkRef:
    network: str
    name: str
    az: str | None


def load_cloud_config(path: str) -> dict[str, Any]:
    import yaml

    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
        data = yaml.safe_load(text)
    except OSError as exc:
        raise CloudConfigError(f"cannot read cloud-config {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise CloudConfigError(f"cloud-config {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise CloudConfigError(f"cloud-config {path} must hold a mapping (azs, vm_types, disk_types, networks)")
    for key in ("azs", "vm_types", "disk_types", "networks"):
        if not isinstance(data.get(key) or [], list):
            raise CloudConfigError(f"cloud-config {path}: '{key}' must be a list")
    variables = sorted(set(re.findall(r"\(\(\s*([^()\s]+)\s*\)\)", text)))
    if variables:
        shown = ", ".join(f"(({v}))" for v in variables[:5]) + (", …" if len(variables) > 5 else "")
        raise UninterpolatedCloudConfig(f"cloud-config {path} still has variables {shown}: its AZs, offerings "
                                        "and networks cannot be checked by placeholder")
    return data


def _items(cloud: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    return [i for i in cloud.get(key) or [] if isinstance(i, dict)]


def _props(item: Mapping[str, Any]) -> dict[str, Any]:
    props = item.get("cloud_properties")
    return props if isinstance(props, dict) else {}


def cloud_config_summary(cloud: Mapping[str, Any]) -> str:
    return ", ".join(f"{len(_items(cloud, k))} {k}" for k in ("azs", "vm_types", "disk_types", "networks"))


def az_zones(cloud: Mapping[str, Any]) -> dict[str, str | None]:
    """AZ name → its ``zone`` cloud property (None: the config's default zone)."""
    return {str(az.get("name")): _props(az).get("zone") for az in _items(cloud, "azs")}


def vm_types(cloud: Mapping[str, Any]) -> list[VmTypeRef]:
    refs = []
    for item in _items(cloud, "vm_types"):
        props = _props(item)
        disk = props.get("disk")
        refs.append(VmTypeRef(
            name=str(item.get("name")),
            compute_offering=props.get("compute_offering"),
            custom_compute=any(k in props for k in ("cpu", "ram", "cpu_speed")),
            ephemeral_disk_offering=props.get("ephemeral_disk_offering"),
            ephemeral_mb=disk if isinstance(disk, int) else None,
        ))
    return refs


def disk_types(cloud: Mapping[str, Any]) -> list[DiskTypeRef]:
    refs = []
    for item in _items(cloud, "disk_types"):
        size = item.get("disk_size")
        refs.append(DiskTypeRef(str(item.get("name")), _props(item).get("disk_offering"),
                                size if isinstance(size, int) else None))
    return refs


def network_refs(cloud: Mapping[str, Any]) -> list[NetworkRef]:
    """Each (network, CloudStack network name, AZ) a manual/dynamic network names; vip ones have none."""
    refs: list[NetworkRef] = []
    for net in _items(cloud, "networks"):
        if net.get("type") == "vip":
            continue
        subnets = [s for s in net.get("subnets") or [] if isinstance(s, dict)] or [net]
        for subnet in subnets:
            name = _props(subnet).get("name")
            if not name:
                continue
            azs = subnet.get("azs") or ([subnet["az"]] if subnet.get("az") else [None])
            refs += [NetworkRef(str(net.get("name")), str(name), az) for az in azs]
    return list(dict.fromkeys(refs))
