"""The property table: every config property with its default, description and secrecy.

The file's tree is the release job's property tree (``cpi.json.erb`` dumps the job
properties), so the schemas (:mod:`cpi_framework.config.schema`) are also the job spec:
:func:`property_table` lists every property, and the release test checks the spec against it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, fields, missing

from cpi_framework.config.schema import ConfigSchema


@dataclass(frozen=True)
class Property:
    """One job property: dotted name, default (``REQUIRED`` when required), description, secrecy."""

    name: str
    default: Any
    description: str
    secret: bool
    required: bool


def property_table() -> list[Property]:
    """Every config property in schema order: the single source for the job spec and the docs."""
    return list(_walk(ConfigSchema(), ""))


def _walk(schema: Schema, prefix: str) -> Iterator[Property]:
    for name, fld in schema.fields.items():
        dotted = f"{prefix}{name}"
        if isinstance(fld, fields.Nested):
            yield from _walk(fld.schema, dotted + ".")
            continue
        default = fld.load_default
        if callable(default):
            default = default()
        if default is missing:
            default = None
        yield Property(
            name=dotted,
            default=None if fld.required else default,
            description=fld.metadata.get("description", ""),
            secret=bool(fld.metadata.get("secret")),
            required=bool(fld.required),
        )
