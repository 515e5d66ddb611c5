"""XenServer plugin: the hooks for CloudStack zones whose hosts run XenServer / XCP-ng.

What the CloudStack stemcell (``cloudstack-vhdx``, built by bosh-linux-stemcell-builder's
``cloudstack`` infrastructure) expects, and therefore what this plugin answers:

* the stemcell ``image`` *is* a dynamic VHD compressed with bzip2, so templates are ``VHD``
  uploaded under a ``.vhd.bz2`` name (secondary storage decides decompression from the suffix);
* a paravirtualised guest sees disk ``deviceid`` N as ``/dev/xvd`` + ``chr(ord('a') + N)``
  (0 root, 1 ephemeral, 2 and 4… persistent; 3 is the CD-ROM); its agent uses the identity or
  ``virtio`` resolver, both of which end on the hint's ``path``;
* its agent reads settings from the HTTP metadata source (``mdproxy4cs`` on
  ``169.254.169.254:39724`` forwarding to the virtual router), as JSON with the settings at
  the top level;
* hot-plugging a disk before the PV drivers (xe-guest-utilities) are up fails with XenServer's
  ``VM_MISSING_PV_DRIVERS`` error, which clears by itself once the guest has booted.
"""

from __future__ import annotations

from typing import Any

from cpi_framework.hookspecs import hookimpl
from cpi_framework.types import HypervisorSpec, TemplateParams, UserData

OS_TYPE = "Other PV (64-bit)"
DEVICE_LETTERS = "abcdefghijklmnopqrstuvwxyz"

# XenAPI's error for hot-plug without PV drivers: code VM_MISSING_PV_DRIVERS, description
# "You attempted an operation on a VM which requires PV drivers to be installed but the
# drivers were not detected." CloudStack passes either into the job's errortext.
TRANSIENT_ATTACH_MARKERS = ("requires pv drivers", "vm_missing_pv_drivers", "pv drivers were not detected")


@hookimpl
def cpi_hypervisor() -> HypervisorSpec:
    return HypervisorSpec(
        name="xen",
        cloudstack_type="XenServer",
        stemcell_formats=("cloudstack-vhdx",),
        description="XenServer / XCP-ng zones; CloudStack stemcells (VHD, /dev/xvd*, HTTP metadata)",
        defaults={
            "cloudstack.stemcell_os_type": OS_TYPE,
            "cloudstack.stemcell_requires_hvm": False,
        },
    )


@hookimpl
def cpi_template_params(stemcell: dict[str, Any], config: Any) -> TemplateParams:
    cloudstack = config.cloudstack
    return TemplateParams(
        format="VHD",
        file_suffix=".vhd.bz2",
        os_type=cloudstack.stemcell_os_type or OS_TYPE,
        requires_hvm=bool(cloudstack.stemcell_requires_hvm),
    )


def device_path(deviceid: Any) -> str:
    """``/dev/xvd`` + the letter of CloudStack's device id (XenServer's VBD ``userdevice``)."""
    index = int(deviceid)
    if not 0 <= index < len(DEVICE_LETTERS):
        raise ValueError(f"device id {deviceid!r} has no /dev/xvd* name")
    return "/dev/xvd" + DEVICE_LETTERS[index]


@hookimpl
def cpi_disk_hint(volume: dict[str, Any], vm: dict[str, Any], role: str) -> str | dict[str, str]:
    if role == "system":
        return "/dev/xvda"
    deviceid = volume.get("deviceid")
    if deviceid is None:
        raise ValueError(f"volume {volume.get('id')} has no deviceid: is it attached?")
    # The earlier CloudStack CPIs' form: path for the identity/virtio resolvers, the device id as volume_id.
    return {"path": device_path(deviceid), "volume_id": str(int(deviceid))}


@hookimpl
def cpi_user_data(settings: dict[str, Any], vm: dict[str, Any]) -> UserData:
    # The HTTP source parses the settings at the top level of the JSON document. In registry
    # mode (old stemcells) the core has already added ``server``/``registry``/``dns`` to them.
    return UserData.json(settings)


@hookimpl
def cpi_attach_error_is_transient(error: Exception) -> bool | None:
    text = (getattr(error, "errortext", None) or str(error)).lower()
    return True if any(marker in text for marker in TRANSIENT_ATTACH_MARKERS) else None


@hookimpl
def cpi_guest_warnings(os_type: str, userdata_providers: list[str]) -> list[tuple[str, str]]:
    # The CloudStack stemcell's agent.json (bosh-linux-stemcell-builder stage
    # bosh_cloudstack_agent_settings) has one HTTP source, which mdproxy4cs forwards to the
    # virtual router; it reads no config drive.
    if "ConfigDrive" in userdata_providers:
        return [("the CloudStack stemcell reads its settings only over HTTP from the virtual router "
                 "(mdproxy4cs); on a ConfigDrive network its agent finds no settings",
                 "use networks whose UserData provider is VirtualRouter")]
    return []
