"""Package boundaries: the public names others code against, and no BOSH knowledge."""

from __future__ import annotations

import ast
from pathlib import Path

import cpi_framework.cloudstack as cs

PACKAGE = Path(cs.__file__).parent


def test_public_names() -> None:
    expected = {
        "CloudStackClient", "ClientSettings", "RequestStats", "AsyncJob", "sign", "signed_query", "redact_params",
        "CloudStackError", "TransportError", "ConnectTimeout", "ReadTimeout", "TLSError", "ApiError",
        "AuthenticationError", "ParameterError", "Throttled", "AsyncJobFailed", "AsyncJobTimeout",
        "UnexpectedResponse",
    }  # fmt: skip
    assert expected <= set(cs.__all__)
    assert all(hasattr(cs, name) for name in cs.__all__)


def test_error_tree() -> None:
    assert issubclass(cs.ConnectTimeout, cs.TransportError) and issubclass(cs.ReadTimeout, cs.TransportError)
    for cls in (cs.AuthenticationError, cs.ParameterError, cs.Throttled):
        assert issubclass(cls, cs.ApiError)
    for cls in (cs.TransportError, cs.ApiError, cs.AsyncJobFailed, cs.AsyncJobTimeout, cs.UnexpectedResponse):
        assert issubclass(cls, cs.CloudStackError)


def test_package_imports_nothing_else_from_the_framework() -> None:
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert node.level in (0, 1), f"{path.name}: relative import outside the package"
                assert not (node.module or "").startswith("cpi_framework"), f"{path.name}: {node.module}"
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("cpi_framework") for a in node.names), path.name


def test_modules_stay_small() -> None:
    for path in PACKAGE.glob("*.py"):
        assert len(path.read_text().splitlines()) <= 400, path.name
