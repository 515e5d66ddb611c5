"""Load a valid config without importing marshmallow; leave anything else to marshmallow.

Importing marshmallow and defining its schemas cost about five bare interpreter starts, paid
on every CPI call although nearly every config is valid. This module walks the generated
table (:mod:`cpi_framework.config.table`, the schema as plain data) and accepts a config only
when every check it makes passes; it never produces an error. On any doubt (an unknown or
missing key, a value of a type it does not take as is, such as ``"8080"`` for a port, which
marshmallow may still accept, a failed check) :func:`load_valid` answers ``None`` and the
caller validates with the schema, which gives the exact result or message. The records are
made by the same :mod:`cpi_framework.config.normalise` functions the schema's ``post_load``
calls. ``tests/unit/config/test_fast_path.py`` compares the two over every config in the
repository and cases generated per property.
"""

from __future__ import annotations

from typing import Any

from cpi_framework.config import normalise, validators
from cpi_framework.config.model import Config
from cpi_framework.config.table import SECTIONS


class _Unsure(Exception):
    """Raised at the first thing the fast path does not prove valid: marshmallow decides."""


def load_valid(raw: Any) -> Config | None:
    """The config marshmallow's ``ConfigSchema().load(raw)`` would give, or ``None`` when unsure."""
    try:
        return _section("", raw)  # type: ignore[no-any-return]
    except _Unsure:
        return None


def _section(path: str, raw: Any) -> Any:
    if type(raw) is not dict:
        raise _Unsure
    spec = SECTIONS[path]
    specs = spec["fields"]
    for key in raw:
        if key not in specs:
            raise _Unsure
    data: dict[str, Any] = {}
    for name, field in specs.items():
        if name in raw:
            data[name] = _value(field, raw[name])
        elif field["required"]:
            raise _Unsure
        elif field["type"] == "section":
            data[name] = _section(field["section"], {})
        else:
            default = field["default"]
            data[name] = type(default)() if type(default) in (list, dict) else default
    build = spec["build"]
    return data if build is None else getattr(normalise, build)(data)


def _value(field: dict[str, Any], value: Any) -> Any:
    if value is None:
        if field["allow_none"]:
            return None  # marshmallow validates nothing more in a null
        raise _Unsure
    kind = field["type"]
    if kind == "section":
        return _section(field["section"], value)
    if kind == "string" or kind == "boolean":
        if type(value) is not (str if kind == "string" else bool):
            raise _Unsure
    elif kind == "integer":
        if type(value) is not int:
            raise _Unsure
    elif kind == "float":
        if type(value) is not float and type(value) is not int:
            raise _Unsure
        try:
            value = float(value)
        except OverflowError:
            raise _Unsure from None
        if value != value or value in (float("inf"), float("-inf")):
            raise _Unsure
    elif kind == "list":
        if type(value) is not list:
            raise _Unsure
        value = [_value(field["item"], item) for item in value]
    elif kind == "dict":
        if type(value) is not dict:
            raise _Unsure
        value = dict(value)
    else:
        raise _Unsure
    for check in field["validate"]:
        if not _passes(check, value):
            raise _Unsure
    return value


def _passes(check: list[Any], value: Any) -> bool:
    """marshmallow's Range, Length, OneOf and Regexp, and the plain checks of :mod:`.validators`."""
    kind = check[0]
    if kind == "range":
        low, high, low_inclusive, high_inclusive = check[1:]
        if low is not None and (value < low if low_inclusive else value <= low):
            return False
        return not (high is not None and (value > high if high_inclusive else value >= high))
    if kind == "length":
        low, high, equal = check[1:]
        if equal is not None:
            return len(value) == equal
        return (low is None or len(value) >= low) and (high is None or len(value) <= high)
    if kind == "choices":
        return value in check[1]
    if kind == "pattern":
        import re  # already imported by json

        return re.compile(check[1], check[2]).match(value) is not None
    if kind == "check":
        return bool(getattr(validators, check[1])(value))
    return False
