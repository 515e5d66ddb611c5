"""Test plugins for tests/plugins_meta: each module extends xen and overrides exactly one hook.

``spec(name)`` is their shared ``cpi_hypervisor`` answer; the hook outcome tests select one
with ``cloudstack.hypervisor: <entry point name>`` and compare against plain xen.
"""

from cpi_framework.types import HypervisorSpec


def spec(name: str, **extra) -> HypervisorSpec:
    return HypervisorSpec(name=name, extends="xen", description=f"test plugin {name}", **extra)
