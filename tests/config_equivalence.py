"""The config's two loaders side by side: the fast path never disagrees with marshmallow.

:func:`agree` runs the marshmallow schema (``validate_config``, the authority) and the fast path
(``fast.load_valid``) on one raw config and fails when the fast path accepts a config the
schema rejects, builds a config that differs in any value or type from the schema's, or
changes its input. Used by the differential tests in ``tests/unit`` and the release tests.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from cpi_framework.config import validate_config
from cpi_framework.config.fast import load_valid
from cpi_framework.config.model import Record
from cpi_framework.errors import ConfigError


@dataclass
class Outcome:
    config: Any
    """The schema's config, or ``None`` when it rejected the input."""
    message: str | None
    """The schema's error message when it rejected the input."""
    fast: bool
    """Whether the fast path accepted the input (else the schema decided)."""


def strict(value: Any) -> Any:
    """A comparable form that also tells ``10`` from ``10.0`` and a list from a tuple."""
    if isinstance(value, Record):
        return (type(value).__name__, tuple((name, strict(getattr(value, name))) for name in value._fields))
    if isinstance(value, dict):
        return ("dict", tuple((strict(k), strict(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(strict(v) for v in value))
    return (type(value).__name__, value)


def agree(raw: Any, where: str = "cpi.json") -> Outcome:
    before = copy.deepcopy(raw)
    try:
        expected, message = validate_config(copy.deepcopy(raw), where), None
    except ConfigError as exc:
        expected, message = None, str(exc)
    fast = load_valid(raw)
    assert strict(raw) == strict(before), "the fast path changed its input"
    if expected is None:
        assert fast is None, f"the fast path accepted a config the schema rejects ({message}): {raw!r}"
    elif fast is not None:
        got = strict(fast._replace(path=where))
        want = strict(expected)
        assert got == want, f"the fast path built another config from {raw!r}:\n{got}\n!=\n{want}"
    return Outcome(expected, message, fast is not None)


def accepted_by_both(raw: Any, where: str = "cpi.json") -> Any:
    """The config of a valid ``raw``: marshmallow's, checked to be the fast path's as well."""
    outcome = agree(raw, where)
    assert outcome.config is not None, outcome.message
    assert outcome.fast, f"the fast path left a valid config to marshmallow: {raw!r}"
    return outcome.config
