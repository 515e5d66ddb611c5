"""Operator-tool tests: the CPI test kit is enabled by tests/conftest.py (top-level only, as pytest requires)."""
