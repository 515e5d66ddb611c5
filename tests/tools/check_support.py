"""What the ``check`` tests share: the cloud config they hand ``--cloud-config``."""

from __future__ import annotations

CLOUD_CONFIG = """
azs:
- {name: z1, cloud_properties: {zone: zone-xen}}
vm_types:
- {name: default, cloud_properties: {compute_offering: small, disk: 10240}}
disk_types:
- {name: default, disk_size: 20480, cloud_properties: {disk_offering: disk-custom}}
networks:
- name: default
  type: manual
  subnets:
  - {azs: [z1], range: 10.0.1.0/24, gateway: 10.0.1.1, cloud_properties: {name: bosh-net}}
"""
"""One AZ on the simulator's XenServer zone, a VM and a disk type on its default offerings, and a
manual network on its ``bosh-net``: everything valid, so a test changes one thing to break it."""

CLOUD_CONFIG_WITH_VIP = CLOUD_CONFIG + "- {name: public, type: vip}\n"
"""The same plus a vip network (nothing of the cloud to check for it)."""
