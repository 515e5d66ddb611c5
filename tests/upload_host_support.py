"""The SSVM's own PKI, shared by the upload tests (``create_stemcell``) and ``check --probe-upload``.

The simulator serves the API on 127.0.0.1 with one test CA and the upload endpoint (the SSVM) on
:data:`SSVM` with another, as a real cloud does. ``tests/conftest.py`` registers :func:`ssvm_pki`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cloudstack_simulator import Simulator
from cloudstack_simulator.tls import make_test_ca

SSVM = "127.0.0.2"
"""The secondary storage VM's address: another host than the API's 127.0.0.1."""

Pki = dict[str, tuple[Path, Path, Path]]


@pytest.fixture(scope="module")
def ssvm_pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pki]:
    """``(ca, cert, key)``: the API's, the SSVM's (for its IP), and one naming a domain instead."""
    yield {"api": make_test_ca(tmp_path_factory.mktemp("api")),
           "ssvm": make_test_ca(tmp_path_factory.mktemp("ssvm"), host=SSVM),
           "domain": make_test_ca(tmp_path_factory.mktemp("domain"), host="*.ssvm.example")}


def ssvm_simulator(pki: Pki, upload: str = "ssvm", **templates_cfg: Any) -> Simulator:
    """A simulator whose API has ``pki["api"]``'s certificate and whose SSVM on :data:`SSVM` has ``pki[upload]``'s."""
    api, ssvm = pki["api"], pki[upload]
    return Simulator({"templates": {"upload_host": SSVM, **templates_cfg}}, tls=(api[1], api[2]),
                     upload_tls=(ssvm[1], ssvm[2]))
