"""Simulator configuration: YAML/JSON deep-merged over the bundled ``default.yml``.

Mappings merge key by key and lists replace, so a test can pass ``{"job_duration": 2}``
and keep the default inventory, while a per-hypervisor file replaces ``zones``.
Unknown keys are errors, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .limits import ADMIN, LIMIT_NAMES, ROLE_TYPES
from .versions import Profile

__all__ = ["load_config", "ConfigError", "example_path"]

_TOP = {
    "api_key", "secret_key", "account", "domain", "cloudstack_version", "job_duration", "job_durations",
    "api", "templates", "hypervisors", "affinity_group_types", "ssh_keypairs", "service_offerings",
    "disk_offerings", "network_offerings", "zones", "os_types", "role", "resource_limits", "guest_agent",
}
_SECTIONS = {
    "api": {"page_size", "userdata_max_length", "get_userdata_limit", "enforce_post_and_timestamps",
            "throttle_rps", "unknown_uuid", "allow_user_expunge_recover_vm",
            "allow_user_view_destroyed_vm"},
    "templates": {"ready_delay", "upload_validity", "check_content", "allow_download_hosts", "upload_host",
                  "ssl_cert_domain", "max_upload_size_gb"},
    "role": {"name", "type", "denied_commands"},
    "resource_limits": set(LIMIT_NAMES),
    "guest_agent": {"binary", "work_dir"},
}


class ConfigError(ValueError):
    """Invalid simulator configuration; the message names the key."""


def example_path(name: str) -> Path:
    """Path of a bundled example config (``default.yml``, ``xen.yml``, ...)."""
    return Path(str(resources.files("cloudstack_simulator") / "examples" / name))


def _read(path: Path) -> dict[str, Any]:
    """The file as a mapping; unreadable or malformed files are one-line ConfigErrors naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path} is not valid YAML: {getattr(exc, 'problem', None) or exc}{where}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    return data


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_config(config: None | str | Path | dict[str, Any] = None) -> dict[str, Any]:
    """Return the effective configuration (a plain dict)."""
    base = _read(example_path("default.yml"))
    if config is None:
        over: dict[str, Any] = {}
        source = "default.yml"
    elif isinstance(config, dict):
        over, source = config, "<dict>"
    else:
        path = Path(config)
        if not path.exists() and (example_path(str(config))).exists():
            path = example_path(str(config))
        over, source = _read(path), str(path)
    for key in over:
        if key not in _TOP:
            raise ConfigError(f"{source}: unknown key {key!r}")
    for section, allowed in _SECTIONS.items():
        for key in over.get(section) or {}:
            if key not in allowed:
                raise ConfigError(f"{source}: unknown key {section}.{key}")
    merged = _merge(base, over)
    _validate(merged, source)
    return merged


def _validate(cfg: dict[str, Any], source: str) -> None:
    for off in cfg.get("network_offerings") or []:
        if off.get("userdata_provider", "VirtualRouter") not in {"VirtualRouter", "ConfigDrive", None}:
            raise ConfigError(f"{source}: network offering {off.get('name')}: userdata_provider must be "
                              "VirtualRouter, ConfigDrive or null")
    if not cfg.get("zones"):
        raise ConfigError(f"{source}: at least one zone is required")
    for zone in cfg["zones"]:
        if "name" not in zone or "hypervisor" not in zone:
            raise ConfigError(f"{source}: every zone needs name and hypervisor")
        if zone["hypervisor"] not in {"XenServer", "KVM", "VMware", "Simulator", "Hyperv", "LXC", "Ovm3"}:
            raise ConfigError(f"{source}: zone {zone['name']}: unknown hypervisor {zone['hypervisor']!r}")
        offerings = {o["name"] for o in cfg.get("network_offerings") or []}
        for net in zone.get("networks") or []:
            if net.get("offering") and net["offering"] not in offerings:
                raise ConfigError(f"{source}: network {net.get('name')}: unknown offering {net['offering']!r}")
    role = cfg.get("role") or {}
    if role.get("type", ADMIN) not in ROLE_TYPES:
        raise ConfigError(f"{source}: role.type must be one of {', '.join(ROLE_TYPES)}")
    if role.get("denied_commands") and role.get("type", ADMIN) == ADMIN:
        raise ConfigError(f"{source}: role.denied_commands needs role.type other than Admin (a root admin may "
                          "call every API)")
    for key, value in (cfg.get("resource_limits") or {}).items():
        if not isinstance(value, int) or isinstance(value, bool) or value < -1:
            raise ConfigError(f"{source}: resource_limits.{key} must be an integer >= -1")
    try:
        Profile(str(cfg.get("cloudstack_version")))
    except ValueError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    if cfg["api"].get("unknown_uuid") not in {"error", "empty"}:
        raise ConfigError(f"{source}: api.unknown_uuid must be 'error' or 'empty'")
