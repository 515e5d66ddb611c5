"""Import marshmallow without compiling, on every CPI call, a regex the CPI never uses.

``marshmallow.validate.Email.DOMAIN_REGEX`` is compiled when the module is imported (and
``import marshmallow`` imports it). It spans every Unicode letter (``\\u00a1-\\uffff``) under
``re.IGNORECASE``, which makes CPython case-fold each of those 65,000 characters per class:
~25 ms of CPU on every call that loads the config, about half of importing marshmallow. The
CPI validates no e-mail address. While marshmallow is imported, :func:`marshmallow_imported`
makes ``re.compile`` hand back a :class:`DeferredPattern` for such case-insensitive Unicode-range
patterns only: the same pattern and flags, compiled on first use, so behaviour is unchanged.
Every other pattern (and every ``re.compile`` outside the import) is compiled as usual.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_UNICODE_RANGE = "\\u00a1-\\uffff"
_compile = re.compile


class DeferredPattern:
    """A ``re.Pattern`` stand-in compiled on first attribute access (``match``, ``search``...)."""

    def __init__(self, pattern: str, flags: int) -> None:
        self._args = (pattern, flags)
        self._compiled: re.Pattern[str] | None = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            # probes such as ABCMeta's __isabstractmethod__ when the class body is built: a
            # compiled pattern has none of the missing dunders either, so do not compile for them
            raise AttributeError(name)
        if self._compiled is None:
            self._compiled = _compile(*self._args)
        return getattr(self._compiled, name)


def _expensive(pattern: Any, flags: int) -> bool:
    return isinstance(pattern, str) and bool(flags & re.IGNORECASE) and ("\u00a1-\uffff" in pattern
                                                                         or _UNICODE_RANGE in pattern)


def _deferring_compile(pattern: Any, flags: int = 0) -> Any:
    if _expensive(pattern, flags):
        return DeferredPattern(pattern, flags)
    return _compile(pattern, flags)


@contextmanager
def marshmallow_imported() -> Iterator[None]:
    """Defer the Unicode-range patterns compiled while the block first imports marshmallow."""
    if "marshmallow.validate" in sys.modules:
        yield
        return
    re.compile = _deferring_compile  # type: ignore[assignment]
    try:
        yield
    finally:
        re.compile = _compile  # type: ignore[assignment]
