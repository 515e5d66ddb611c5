"""Operator-tool tests run against the simulator and the real CPI process."""

pytest_plugins = ["cpi_framework.testing"]
