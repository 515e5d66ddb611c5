"""The checks of what the config and the cloud-config name: zones, offerings, key pair, OS type, networks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cpi_framework.tools.check.base import CheckerBase
from cpi_framework.tools.common import az_zones, disk_types, network_refs, vm_types

if TYPE_CHECKING:
    from cpi_framework.config import Config


class CatalogueChecks(CheckerBase):
    """Each named thing must exist in the cloud and suit its use (services.catalog lookups)."""

    def check_zone(self, name: str, label: str) -> dict[str, Any] | None:
        from cpi_framework.services import catalog

        assert self.ctx is not None
        zone = self.find(label, "set cloudstack.default_zone (or the AZ's zone) to one of the available zones",
                         catalog.zone, name)
        if zone is None:
            return None
        wanted = self.ctx.plugins.cloudstack_type
        hypervisors = self.read(label, f"which hypervisor zone '{name}' runs", "listHypervisors",
                                {"zoneid": zone["id"]})
        if hypervisors is None:
            return zone
        kinds = sorted({h.get("name", "") for h in hypervisors})
        if kinds and wanted not in kinds:
            plugin = self.ctx.config.cloudstack.hypervisor
            self.add(label, "fail", f"zone '{name}' runs {', '.join(kinds)}, but plugin '{plugin}' deploys {wanted}",
                     _hypervisor_fix(kinds))
        else:
            self.add(label, "pass", f"zone '{name}' exists ({zone['id']}), hypervisor {', '.join(kinds) or wanted}")
        return zone

    def check_offerings(self, config: Config) -> None:
        for prop, name, where in (
            ("cpi.default_disk_offering", config.cpi.default_disk_offering, "disk type a disk_offering"),
            ("cpi.default_ephemeral_disk_offering", config.cpi.default_ephemeral_disk_offering,
             "VM type an ephemeral_disk_offering"),
        ):
            if not name:
                self.add(prop, "warn", f"{prop} is not set", f"set it to a custom-size disk offering, or give every "
                         f"{where}")
                continue
            self.disk_offering(prop, name, size_mb=None)

    def disk_offering(self, label: str, name: str, *, size_mb: int | None) -> dict[str, Any] | None:
        """An offering must exist; a fixed-size one only fits requests of its own size."""
        from cpi_framework.services import catalog

        assert self.ctx is not None
        offering = self.find(label, "name an existing disk offering (or its id)", catalog.disk_offering, name)
        if offering is None:
            return None
        if offering.get("iscustomized"):
            self.add(label, "pass", f"disk offering '{name}' exists (custom size)")
        elif size_mb is None:
            self.add(label, "warn", f"disk offering '{name}' has a fixed size of {offering.get('disksize')} GB",
                     "disks of any other size need a custom-size offering here")
        elif int(offering.get("disksize") or 0) * 1024 < size_mb:
            self.add(label, "fail", f"disk offering '{name}' is {offering.get('disksize')} GB fixed, smaller than "
                     f"the {size_mb} MB asked for", "use a custom-size offering or a larger one")
        else:
            self.add(label, "pass", f"disk offering '{name}' exists ({offering.get('disksize')} GB fixed)")
        return offering

    def compute_offering(self, label: str, name: str, *, custom: bool) -> None:
        from cpi_framework.services import catalog

        assert self.ctx is not None
        offering = self.find(label, "name an existing compute offering (or its id)", catalog.service_offering, name)
        if offering is None:
            return
        if custom and not offering.get("iscustomized"):
            self.add(label, "fail", f"compute offering '{name}' is not customizable but cpu/ram are set",
                     "use a custom compute offering with cpu/ram, or drop cpu/ram")
        else:
            self.add(label, "pass", f"compute offering '{name}' exists")

    def check_key_pair(self, config: Config) -> None:
        from cpi_framework.services import catalog

        assert self.ctx is not None
        name = config.cloudstack.default_key_name
        if not name:
            self.add("key pair", "skip", "cloudstack.default_key_name is not set (VMs get no SSH key)")
            return
        fix = "create it (CloudStack UI: SSH Key Pairs) or fix cloudstack.default_key_name"
        if self.find("key pair", fix, catalog.key_pair, name) is not None:
            self.add("key pair", "pass", f"SSH key pair '{name}' exists")

    def check_os_type(self, config: Config) -> None:
        from cpi_framework.services import catalog

        assert self.ctx is not None
        wanted = config.cloudstack.stemcell_os_type
        if not wanted:
            return
        fix = "set cloudstack.stemcell_os_type to an OS type description"
        if self.find("os type", fix, catalog.os_type, wanted) is not None:
            self.add("os type", "pass", f"OS type '{wanted}' exists")

    def check_cloud_config(self, cloud: dict[str, Any], default_zone: dict[str, Any] | None) -> None:
        from cpi_framework.services import catalog

        assert self.ctx is not None
        zones: dict[str | None, dict[str, Any] | None] = {None: default_zone}
        for az, zone_name in az_zones(cloud).items():
            zones[az] = self.check_zone(zone_name, f"az {az}") if zone_name else default_zone
        for item in vm_types(cloud):
            label = f"vm_type {item.name}"
            if item.compute_offering:
                self.compute_offering(label, item.compute_offering, custom=item.custom_compute)
            offering = item.ephemeral_disk_offering or self.ctx.config.cpi.default_ephemeral_disk_offering
            if offering and item.ephemeral_mb:
                self.disk_offering(f"{label} ephemeral", offering, size_mb=item.ephemeral_mb)
        for item in disk_types(cloud):
            offering = item.disk_offering or self.ctx.config.cpi.default_disk_offering
            if offering:
                self.disk_offering(f"disk_type {item.name}", offering, size_mb=item.size_mb)
        for net in network_refs(cloud):
            zone = zones.get(net.az, default_zone)
            label = f"network {net.network}" + (f" (az {net.az})" if net.az else "")
            if zone is None:
                self.add(label, "skip", "its zone could not be checked")
                continue
            found = self.find(label, "set the subnet's cloud_properties.name to a network of that zone",
                              catalog.network, zone["id"], net.name, suffix=f" in zone '{zone.get('name')}'")
            if found is None:
                continue
            provider = _userdata_provider(found)
            self.userdata_providers.extend(p.strip() for p in (provider or "").split(",") if p.strip())
            if provider is None:
                self.add(label, "fail", f"network '{net.name}' offers no UserData service: agents cannot read "
                         "their settings", "use a network whose offering has UserData (VirtualRouter or "
                         "ConfigDrive)")
            else:
                self.add(label, "pass", f"network '{net.name}' exists, user data via {provider}")

    def check_guest(self, config: Config) -> None:
        """The plugin's warnings about the guest the stemcell's agent meets: disk bus, settings source."""
        from cpi_framework.errors import PluginError

        assert self.ctx is not None
        os_type = config.cloudstack.stemcell_os_type or ""
        try:
            warnings = self.ctx.plugins.guest_warnings(os_type, sorted(set(self.userdata_providers)))
        except PluginError as err:
            self.add("guest", "warn", f"the plugin could not judge the guest: {err}")
            return
        for message, fix in warnings:
            self.add("guest", "warn", message, fix)


def _hypervisor_fix(kinds: list[str]) -> str:
    from cpi_framework.plugin_system.host import PluginHost
    from cpi_framework.plugin_system.manager import discover

    names = []
    for name in sorted(discover()):
        try:
            if PluginHost(name).cloudstack_type in kinds:
                names.append(name)
        except Exception:  # a broken plugin must not hide the advice
            continue
    if names:
        return f"set cloudstack.hypervisor to {' or '.join(names)}, or choose a zone of the plugin's hypervisor"
    return "install a plugin for that hypervisor, or choose a zone of the plugin's hypervisor"


def _userdata_provider(network: dict[str, Any]) -> str | None:
    for service in network.get("service") or []:
        if service.get("name") == "UserData":
            providers = [p.get("name") for p in service.get("provider") or [] if p.get("name")]
            return ", ".join(providers) or "unknown provider"
    return None
