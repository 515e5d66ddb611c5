"""Fill a simulator account with thousands of VMs in milliseconds, straight into its state.

Deploying 5,000 VMs through the API would take minutes (and the simulator checks hostnames
against every VM per deploy); the benchmark only needs them *present*: listed by
``listVirtualMachines``, with a ROOT volume, a NIC and BOSH-like tags, as another
deployment's VMs would be. They live on their own /16 network so the zone's real networks
keep their free addresses for the VMs the CPI creates.
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

from cloudstack_simulator import models as m
from cloudstack_simulator.state import now_str, stable_id

BULK_NETWORK = "bench-bulk-net"
BULK_CIDR = "10.128.0.0/16"


def populate_vms(sim: Any, count: int, zone_name: str = "zone-xen", director_uuid: str = "other-director") -> int:
    """Add ``count`` Running VMs (+ ROOT volume, NIC, tags) to ``zone_name``; return how many VMs the zone has.

    Uses the simulator's internal state (``sim._core.st``) under its lock: the only fast way,
    and the objects are the same records ``deployVirtualMachine`` makes.
    """
    st = sim._core.st  # noqa: SLF001 - bulk load for the benchmark; there is no public bulk route
    with st.lock:
        zone = st.by_name("zone", zone_name)
        if zone is None:
            raise KeyError(f"no zone {zone_name!r}")
        template = next(t for t in st.live("template") if t.zone_id == zone.id and t.isready)
        offering = st.by_name("serviceoffering", "small")
        network = st.by_name("network", BULK_NETWORK, zone.id) or _bulk_network(st, zone)
        hosts = ipaddress.ip_network(BULK_CIDR).hosts()
        next(hosts)  # the gateway
        used = st.ips_in_use(network.id)
        created = now_str()
        for _ in range(count):
            ip = next(str(h) for h in hosts if str(h) not in used)
            num = st.next_num()
            vm_id = str(uuid.uuid4())
            nic = m.Nic(str(uuid.uuid4()), network.id, ip, st.new_mac(), 0, True)
            vm = m.VirtualMachine(vm_id, num, f"vm-{vm_id}", f"other/{num}", zone.id, template.id, offering.id,
                                  offering.cpunumber or 1, offering.cpuspeed or 1000, offering.memory or 1024,
                                  "Running", created, [nic])
            st.add("vm", vm)
            st.add("volume", m.Volume(str(uuid.uuid4()), num, f"ROOT-{num}", zone.id, "ROOT", template.size,
                                      "Ready", created, service_offering_id=offering.id, template_id=template.id,
                                      vm_id=vm_id, deviceid=0, attached=created, hypervisor=zone.hypervisor,
                                      storage=f"Primary-{zone.name}"))
            for key, value in (("bosh-cpi", "cloudstack"), ("bosh-director-uuid", director_uuid),
                               ("bosh-role", "vm"), ("deployment", "other")):
                st.tags.append(m.Tag(key, value, vm_id, "UserVm"))
        return sum(1 for vm in st.live("vm") if vm.zone_id == zone.id)


def _bulk_network(st: Any, zone: Any) -> Any:
    offering = st.by_name("networkoffering", "bosh-isolated-vr") or next(iter(st.live("networkoffering")))
    net = ipaddress.ip_network(BULK_CIDR)
    gateway = str(next(net.hosts()))
    return st.add("network", m.Network(stable_id("network", zone.name, BULK_NETWORK), BULK_NETWORK, zone.id,
                                       BULK_CIDR, gateway, str(net.netmask), offering.id, 4000, gateway))
