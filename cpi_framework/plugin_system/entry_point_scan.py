"""Entry points of one group, read straight from ``*.dist-info``/``*.egg-info`` on ``sys.path``.

Plugin discovery runs on every CPI call. ``importlib.metadata.entry_points()`` costs ~20 ms
per call: importing it pulls in the ``email`` package, and it parses the METADATA of every
installed distribution to de-duplicate them. This reads the same files with the same rules,
but only ``entry_points.txt``, and METADATA's header only for the distributions that declare
an entry point of the group:

* distributions are found per ``sys.path`` entry, ``*.dist-info`` before ``*.egg-info``
  (``importlib.metadata``'s ``FastPath``/``Lookup`` order); a distribution name seen on an
  earlier entry hides later copies (its ``_unique``), names compared normalised (PEP 503);
* ``entry_points.txt`` is the INI format of the entry points specification; an extras
  suffix (``module:attr [extra]``) is ignored, as ``EntryPoint.load`` ignores it.

Anything this reader does not handle (a zip archive on ``sys.path``) falls back to
``importlib.metadata`` so that discovery never silently finds less.
"""

# No ``from __future__ import annotations`` here: typing.NamedTuple compiles every field's annotation
# string (~3 ms a process for the records on the path of every call); real annotations cost nothing.

import os
import re
import sys
from typing import NamedTuple

_NORMALISE = re.compile(r"[-_.]+")


class FoundEntryPoint(NamedTuple):
    name: str
    value: str
    distribution: str
    version: str


def normalised(name: str) -> str:
    return _NORMALISE.sub("-", name).lower()


def entry_points(group: str) -> list[FoundEntryPoint]:
    """Every entry point of ``group`` that ``importlib.metadata.entry_points(group=...)`` would list."""
    paths = [path or "." for path in sys.path]
    if any(os.path.isfile(path) for path in paths):
        return _from_importlib(group)
    found: list[FoundEntryPoint] = []
    seen: set[str] = set()
    for path in paths:
        for directory in _distributions(path):
            stem = os.path.basename(directory).rpartition(".")[0]
            key = normalised(stem.split("-")[0])
            if key in seen:
                continue
            seen.add(key)
            declared = _group(os.path.join(directory, "entry_points.txt"), group)
            if declared:
                name, version = _name_and_version(directory, stem)
                found += [FoundEntryPoint(ep_name, value, name, version) for ep_name, value in declared]
    return found


def _distributions(path: str) -> list[str]:
    try:
        names = os.listdir(path)
    except OSError:
        return []
    infos = [n for n in names if n.endswith(".dist-info")]
    eggs = [n for n in names if n.endswith(".egg-info")]
    return [os.path.join(path, n) for n in infos + eggs if os.path.isdir(os.path.join(path, n))]


def _group(path: str, group: str) -> list[tuple[str, str]]:
    try:
        with open(path, encoding="utf-8") as stream:
            lines = stream.read().splitlines()
    except OSError:
        return []
    section, entries = None, []
    for line in lines:
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif section == group and "=" in line:
            name, _, value = line.partition("=")
            entries.append((name.strip(), value.split("[", 1)[0].strip()))
    return entries


def _name_and_version(directory: str, stem: str) -> tuple[str, str]:
    """``Name`` and ``Version`` from the METADATA (or PKG-INFO) header; the directory name as fallback."""
    fallback_name, _, fallback_version = stem.partition("-")
    fields: dict[str, str] = {}
    for file in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(directory, file), encoding="utf-8") as stream:
                for line in stream:
                    if not line.strip():
                        break
                    key, _, value = line.partition(":")
                    if key in ("Name", "Version") and key not in fields:
                        fields[key] = value.strip()
            break
        except OSError:
            continue
    return fields.get("Name", fallback_name), fields.get("Version", fallback_version or "?")


def _from_importlib(group: str) -> list[FoundEntryPoint]:
    from importlib import metadata

    result = []
    for ep in metadata.entry_points(group=group):
        dist = getattr(ep, "dist", None)
        result.append(FoundEntryPoint(ep.name, ep.value, dist.name if dist else "unknown",
                                      dist.version if dist else "?"))
    return result


def load(value: str) -> object:
    """The object an entry point names (``module``, ``module:attr`` or ``module:attr.sub``)."""
    import importlib

    module_name, _, attrs = value.partition(":")
    target: object = importlib.import_module(module_name.strip())
    for attr in filter(None, attrs.strip().split(".")):
        target = getattr(target, attr)
    return target
