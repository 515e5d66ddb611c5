"""Stemcell fixtures of the contract suite: one light stemcell per module, or per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..checks import Cpi, light_stemcell

__all__ = ["shared_stemcell", "stemcell"]


@pytest.fixture(scope="module")
def shared_stemcell(shared_cpi: Cpi, hypervisor: str) -> Iterator[str]:
    """A light stemcell in ``shared_simulator``, made once for the module's contract tests."""
    yield light_stemcell(shared_cpi, hypervisor)


@pytest.fixture
def stemcell(cpi: Cpi, hypervisor: str) -> str:
    """A light stemcell in the per-test ``simulator`` (for tests that need a pristine cloud)."""
    return light_stemcell(cpi, hypervisor)
