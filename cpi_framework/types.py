"""Value records shared by the core and the plugins (the plugin contract's vocabulary).

They are immutable records (``typing.NamedTuple``) so a plugin cannot change what another
plugin or the core sees by accident; hooks that are meant to adjust a document receive a plain
dict instead. Build them by keyword; derive a changed copy with ``_replace``
(``params._replace(details={...})``). They are not dataclasses: ``dataclasses`` imports
``inspect``, which would cost every CPI call ~15 ms, as every call imports its plugin.
"""

# No ``from __future__ import annotations`` here: typing.NamedTuple compiles every field's annotation
# string (~3 ms a process for the records on the path of every call); real annotations cost nothing.

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

DiskRole = Literal["system", "ephemeral", "persistent"]
DiskHint = str | dict[str, str]
UserDataDelivery = Literal["userdata", "configdrive", "registry"]
_NO_ENTRIES: Mapping[str, Any] = MappingProxyType({})
"""The default of the mapping fields: empty and read-only, so no two records share a mutable dict."""


class HypervisorSpec(NamedTuple):
    """What one plugin provides: answered by its ``cpi_hypervisor()`` hook.

    :param name: the plugin name operators write in ``cloudstack.hypervisor`` (``xen``).
    :param cloudstack_type: CloudStack's hypervisor type (``XenServer``, ``KVM``, ``VMware``).
    :param stemcell_formats: formats ``info`` reports and ``create_stemcell`` accepts.
    :param extends: the plugin this one specialises (a flavour such as ``ikoula`` extends ``xen``).
    :param defaults: config defaults this plugin supplies, by dotted property name
        (``{"cloudstack.stemcell_os_type": "Other PV (64-bit)"}``); explicit config wins.
    """

    name: str
    cloudstack_type: str | None = None
    stemcell_formats: tuple[str, ...] = ()
    extends: str | None = None
    description: str = ""
    defaults: Mapping[str, Any] = _NO_ENTRIES


class TemplateParams(NamedTuple):
    """How a stemcell image becomes a CloudStack template on this hypervisor.

    :param format: CloudStack template format (``VHD``, ``QCOW2``, ``OVA``).
    :param file_suffix: the upload file name suffix secondary storage needs to decompress
        (``.vhd.bz2``).
    :param os_type: OS type *description* as ``listOsTypes`` reports it.
    :param requires_hvm: ``requireshvm`` for the template.
    :param details: extra template details (e.g. ``rootDiskController``).
    :param image_member: when set, the stemcell's ``image`` file is a tar archive (gzip or
        not) and this member is the disk image to upload (OpenStack stemcells ship
        ``root.img`` inside ``image``); the core streams the member out of the archive. An
        uncompressed image that is not a tar at all is uploaded whole, with a warning.
    """

    format: str
    file_suffix: str
    os_type: str
    requires_hvm: bool = False
    bits: int = 64
    details: Mapping[str, str] = _NO_ENTRIES
    image_member: str | None = None


class UserData(NamedTuple):
    """The encoded agent settings and how the VM will read them.

    :param data: the bytes the guest reads (the core base64-encodes them for CloudStack).
    :param delivery: ``userdata`` (virtual-router HTTP metadata), ``configdrive``
        (CloudStack's ConfigDrive provider, ``config-2``), or ``registry`` (legacy: the data
        is only a registry pointer and the settings go to the BOSH registry).
    """

    data: bytes
    delivery: UserDataDelivery = "userdata"

    @classmethod
    def json(cls, settings: Mapping[str, Any], delivery: UserDataDelivery = "userdata") -> "UserData":
        """The settings as one compact JSON document: what the agent's HTTP, ConfigDrive and
        File sources all parse (settings at the top level). Keys sorted, so equal settings
        give equal bytes."""
        import json

        return cls(json.dumps(settings, separators=(",", ":"), sort_keys=True).encode(), delivery=delivery)
