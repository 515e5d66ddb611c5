"""The plugin contract: every hook a hypervisor plugin may implement.

A plugin is a module (or object) registered under the entry-point group ``cpi_framework``;
the entry point's name is the plugin name. Only the active plugin (``cloudstack.hypervisor``)
and the chain it ``extends`` are registered, the base first, so a flavour's implementation of
a first-result hook answers before the plugin it extends. Hook arguments may be added in
later versions, never renamed: implement only the arguments you need (pluggy passes by name).
Every hook is documented in ``docs/plugin-hooks.md``.

``hookimpl`` takes the keywords of ``pluggy.HookimplMarker`` (``wrapper``, ``tryfirst``,
``specname``...) but importing it does not import pluggy, which only a call that runs a hook
needs (:mod:`cpi_framework.plugin_system.markers`); ``pluggy.HookimplMarker("cpi_framework")``
still works too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cpi_framework.plugin_system.markers import PROJECT, HookimplMarker, HookspecMarker

if TYPE_CHECKING:
    from marshmallow import fields

    from cpi_framework.config import Config
    from cpi_framework.types import DiskHint, DiskRole, HypervisorSpec, TemplateParams, UserData

NAME = PROJECT

_hookspec = HookspecMarker()
hookimpl = HookimplMarker()


@_hookspec
def cpi_hypervisor() -> HypervisorSpec:
    """Describe the hypervisor this plugin provides. Every plugin implements it exactly once.

    :returns: a :class:`~cpi_framework.types.HypervisorSpec`.

    **Example**::

        @hookimpl
        def cpi_hypervisor():
            return HypervisorSpec(name="ikoula", extends="xen",
                                  defaults={"cloudstack.stemcell_requires_hvm": True})
    """


@_hookspec(firstresult=True)
def cpi_template_params(stemcell: dict[str, Any], config: Config) -> TemplateParams | None:
    """Template parameters for a stemcell image. Stops at the first non-None result.

    Wrappable: a flavour may use ``@hookimpl(wrapper=True)`` to adjust the base plugin's answer.

    :param stemcell: the stemcell's cloud_properties from ``stemcell.MF`` (``name``,
        ``version``, ``infrastructure``, ``hypervisor``, ``disk_format``, ``architecture``…).
    :param config: the loaded CPI config (``config.cloudstack.stemcell_os_type`` etc., with
        this plugin's defaults already applied).
    :returns: :class:`~cpi_framework.types.TemplateParams`.

    **Example**::

        @hookimpl
        def cpi_template_params(stemcell, config):
            return TemplateParams(format="QCOW2", file_suffix=".qcow2",
                                  os_type=config.cloudstack.stemcell_os_type,
                                  requires_hvm=config.cloudstack.stemcell_requires_hvm)
    """


@_hookspec(firstresult=True)
def cpi_disk_hint(volume: dict[str, Any], vm: dict[str, Any], role: DiskRole) -> DiskHint | None:
    """The disk hint the stemcell's agent resolves to this volume. Stops at the first non-None result.

    :param volume: the volume as CloudStack reports it (``id``, ``deviceid``, ``type``, ``size``…).
    :param vm: the VM as CloudStack reports it (``id``, ``hypervisor``, ``nic``…).
    :param role: ``system``, ``ephemeral`` or ``persistent``.
    :returns: a path string (``"/dev/xvdc"``) or a dict of strings (``{"path": …}``,
        ``{"id": …}``, ``{"volume_id": …}``). For ``system`` a string is required (the
        agent's ``disks.system`` is a Go string). ``None`` lets the plugin extended answer.
        Mind what the stemcell's resolver reads: the agent's ``virtio`` by-id lookup uses the
        disk CID, not the hint's ``id`` (which fills ``DeviceID``, read by ``scsi``).

    **Example**::

        @hookimpl
        def cpi_disk_hint(volume, vm, role):
            return "/dev/xvd" + "abcdefghijklmnop"[int(volume["deviceid"])]
    """


@_hookspec
def cpi_agent_settings(settings: dict[str, Any], vm: dict[str, Any], context: dict[str, Any]) -> None:
    """Adjust the agent settings document in place before it is encoded. Every plugin is called, base first.

    :param settings: the settings dict (``agent_id``, ``vm``, ``networks``, ``disks``, ``env``…).
    :param vm: the VM as CloudStack reports it (deployed, not yet started; NICs carry MACs).
    :param context: ``{"api_version", "stemcell_api_version", "director_uuid", "request_id"}``.

    **Example**::

        @hookimpl
        def cpi_agent_settings(settings, vm, context):
            for network in settings["networks"].values():
                network["use_dhcp"] = True
    """


@_hookspec(firstresult=True)
def cpi_user_data(settings: dict[str, Any], vm: dict[str, Any]) -> UserData | None:
    """Encode the settings for the stemcell's settings source. Stops at the first non-None result.

    :param settings: the final agent settings (after :func:`cpi_agent_settings`); in
        registry mode the core has added ``server``, ``registry`` and ``dns`` already.
    :param vm: the VM as CloudStack reports it, plus ``"networks"``: the CloudStack network
        objects of its NICs (their ``service`` lists tell ConfigDrive from virtual router).
    :returns: :class:`~cpi_framework.types.UserData`: the bytes the guest reads (the core
        base64-encodes them) and the delivery (``userdata``, ``configdrive``, ``registry``).

    **Example**::

        @hookimpl
        def cpi_user_data(settings, vm):
            return UserData(json.dumps(settings).encode(), delivery="userdata")
    """


@_hookspec
def cpi_deploy_params(params: dict[str, Any], vm_type: dict[str, Any]) -> None:
    """Adjust ``deployVirtualMachine`` parameters in place. Every plugin is called, base first.

    :param params: the parameters the core built (``details`` is a dict you may extend).
    :param vm_type: the validated VM cloud_properties, including keys from
        :func:`cpi_vm_type_schema`.

    **Example**::

        @hookimpl
        def cpi_deploy_params(params, vm_type):
            params.setdefault("details", {})["rootDiskController"] = vm_type.get("root_disk_controller", "scsi")
    """


@_hookspec
def cpi_vm_type_schema() -> dict[str, fields.Field]:
    """marshmallow fields this plugin adds to VM cloud_properties. Every plugin is called.

    :returns: ``{"root_disk_controller": fields.String(load_default="scsi")}``: declared keys
        are validated (a wrong type fails naming the key) and get their defaults in the
        ``vm_type`` that :func:`cpi_deploy_params` receives; undeclared keys only warn.

    **Example**::

        @hookimpl
        def cpi_vm_type_schema():
            return {"root_disk_controller": fields.String(validate=OneOf(["scsi", "ide"]))}
    """


@_hookspec(firstresult=True)
def cpi_attach_error_is_transient(error: Exception) -> bool | None:
    """Whether an attach failure is worth retrying (within the attach deadline). First non-None wins.

    :param error: the CloudStack error (``cpi_framework.cloudstack.errors``: ``AsyncJobFailed``
        or ``ApiError``, with ``errortext``, ``errorcode``…).
    :returns: ``True`` to retry within the ``attach_volume`` timeout, ``False`` to give up,
        ``None`` to leave it to the plugin extended and the core's rule for CloudStack errors.

    **Example**::

        @hookimpl
        def cpi_attach_error_is_transient(error):
            return "requires PV drivers" in str(error) or None
    """


@_hookspec
def cpi_guest_warnings(os_type: str, userdata_providers: list[str]) -> list[tuple[str, str]] | None:
    """What ``cloudstack-cpi check`` should warn about the guest the stemcell's agent will boot in.

    The CPI cannot see inside the stemcell, but a plugin knows which disk bus its hints need
    and which settings source its stemcells read; this hook turns the cloud's facts into
    warnings before a deploy finds out. Every plugin of the chain is asked, base first, and
    all the warnings are shown.

    :param os_type: the OS type description stemcells are registered with
        (``cloudstack.stemcell_os_type`` or the plugin's default); the KVM agent chooses the disk
        bus from it.
    :param userdata_providers: the UserData providers of the networks ``check`` looked at
        (``VirtualRouter``, ``ConfigDrive``…); empty when it looked at none (no ``--cloud-config``).
    :returns: ``(message, fix)`` pairs, one ``WARN`` line each; ``None`` or ``[]`` for none.

    **Example**::

        @hookimpl
        def cpi_guest_warnings(os_type, userdata_providers):
            if "ConfigDrive" in userdata_providers:
                return [("this stemcell reads no config drive", "use a VirtualRouter network")]
    """
