"""Opt in to the framework's test kit and pin the shared suites to this plugin's hypervisor."""

from __future__ import annotations

import pytest

pytest_plugins = ["cpi_framework.testing"]


@pytest.fixture(scope="session")
def hypervisor() -> str:
    """The simulator zone (and plugin) the shared contract suite runs against."""
    return "kvm"


@pytest.fixture
def agent_resolver() -> str:
    """How the bosh-agent of this plugin's stemcell finds disks; the contract suite judges hints by it.

    The OpenStack-format KVM stemcell's ``agent.json`` says ``virtio``: by-id with the disk CID
    (never the hint's ``id``), then the hint's ``path``.
    """
    return "virtio"
