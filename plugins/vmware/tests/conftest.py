"""Opt in to the framework's test kit and pin the shared suites to this plugin's hypervisor."""

from __future__ import annotations

import pytest

pytest_plugins = ["cpi_framework.testing"]


@pytest.fixture(scope="session")
def hypervisor() -> str:
    """The simulator zone (and plugin) the shared contract suite runs against."""
    return "vmware"


@pytest.fixture
def agent_resolver() -> str:
    """How the bosh-agent of this plugin's stemcell finds disks; the contract suite judges hints by it.

    vSphere-style stemcells say ``scsi``: the hint's ``volume_id`` is the SCSI target.
    """
    return "scsi"
