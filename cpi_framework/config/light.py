"""The one config read that must stay cheap: the hypervisor name, for ``info``.

Importing the marshmallow schemas costs more than the rest of ``info`` together, so this
reads the file with the same parser rules (JSON, else YAML) but checks only what it uses.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from cpi_framework.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path  # not imported at run time: pathlib imports urllib.parse and ipaddress, ~5 ms

DEFAULT_HYPERVISOR = "xen"


def read_hypervisor_name(path: str | Path) -> str:
    """``cloudstack.hypervisor`` from the config file (``xen`` when unset).

    :raises ConfigError: naming the file when it cannot be read or the key has a wrong type.
    """
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}", path=str(path)) from exc
    except UnicodeDecodeError:
        from pathlib import Path

        from cpi_framework.config.loader import read_config_file

        read_config_file(Path(path))  # raises the full message
        raise
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError):
        from cpi_framework.config.loader import parse_config_text

        raw = parse_config_text(text, str(path))
    section = raw.get("cloudstack") if isinstance(raw, dict) else None
    if not isinstance(section, dict):
        raise ConfigError(f"invalid config file {path}: cloudstack: missing required key", path=str(path))
    name = section.get("hypervisor", DEFAULT_HYPERVISOR)
    if not isinstance(name, str) or not name:
        raise ConfigError(f"invalid config file {path}: cloudstack.hypervisor: Not a valid string.", path=str(path))
    return name
