"""marshmallow schemas of the config file: the authority on what a valid config is.

Each field's metadata is the job spec's description. ``unknown = RAISE`` everywhere so a typo
in a manifest fails naming the key. Each schema's ``build`` (from
:mod:`cpi_framework.config.normalise`) makes its record in ``post_load``; the fast path calls
the same functions. ``scripts/gen_config_table.py`` derives the fast path's table from these
classes: after changing them, run it (a test fails while the table is out of date).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate

from cpi_framework.config import normalise, validators


def _f(field_cls: type[fields.Field], description: str, *, secret: bool = False, **kw: Any) -> fields.Field:
    return field_cls(metadata={"description": description, "secret": secret}, **kw)


def _nested(schema: type[Schema], description: str) -> fields.Nested:
    return fields.Nested(schema, load_default=lambda: schema().load({}), metadata={"description": description})


def plain(check: Callable[[Any], bool], message: str) -> Callable[[Any], None]:
    """A marshmallow validator from a plain check of :mod:`.validators`, which the fast path calls as is.

    The generated table names the check (``validator.check``), so adding one here without
    teaching the fast path fails the table's generator instead of passing unchecked.
    """

    def validator(value: Any) -> None:
        if not check(value):
            raise ValidationError(message)

    validator.check = check.__name__  # type: ignore[attr-defined]
    return validator


http_url = plain(validators.http_url, "Not a valid URL.")


class _Strict(Schema):
    build: ClassVar[Callable[[dict[str, Any]], Any] | None] = None
    """The section's record from its loaded values (a plain dict when ``None``)."""

    class Meta:
        unknown = RAISE

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Any:
        build = type(self).build
        return data if build is None else build(data)


class TimeoutsSchema(_Strict):
    default = _f(
        fields.Float,
        "Default deadline (seconds) for any CloudStack async job or wait",
        load_default=1200,
        validate=validate.Range(min=1),
    )
    create_vm = _f(fields.Float, "Deadline for deploying and starting a VM", load_default=None)
    delete_vm = _f(fields.Float, "Deadline for stopping and destroying a VM", load_default=None)
    reboot_vm = _f(fields.Float, "Deadline for rebooting a VM", load_default=None)
    attach_volume = _f(
        fields.Float, "Deadline for attaching a volume (incl. transient-error retries)", load_default=None
    )
    detach_volume = _f(fields.Float, "Deadline for detaching a volume", load_default=None)
    volume = _f(fields.Float, "Deadline for creating, resizing and deleting volumes", load_default=None)
    snapshot = _f(fields.Float, "Deadline for creating and deleting snapshots", load_default=None)
    template = _f(fields.Float, "Deadline for template registration jobs", load_default=None)

    build = staticmethod(normalise.build_timeouts)


class CloudStackSchema(_Strict):
    endpoint = _f(
        fields.String,
        "CloudStack API endpoint, e.g. https://cloud.example.com/client/api",
        required=True,
        validate=http_url,
    )
    api_key = _f(
        fields.String, "API key of the CloudStack account", required=True, secret=True, validate=validate.Length(min=1)
    )
    secret_access_key = _f(
        fields.String,
        "Secret key of the CloudStack account",
        required=True,
        secret=True,
        validate=validate.Length(min=1),
    )
    default_zone = _f(
        fields.String,
        "Zone name used when an AZ sets no 'zone' cloud property",
        required=True,
        validate=validate.Length(min=1),
    )
    hypervisor = _f(
        fields.String, "Hypervisor plugin: xen | kvm | vmware | a third-party plugin name", load_default="xen"
    )
    default_key_name = _f(fields.String, "SSH key pair name given to every VM (must exist)", load_default=None)
    ca_cert = _f(
        fields.String, "PEM CA certificate(s) to verify the endpoint (TLS is always verified)", load_default=None
    )
    upload_ca_cert = _f(
        fields.String,
        "PEM CA certificate(s) to verify the secondary storage VM, the host direct stemcell uploads go to "
        "(another host and certificate than the endpoint); default: ca_cert, else the system CAs",
        load_default=None,
    )
    private_key = _f(fields.String, "Unused (accepted for manifests of the Java CloudStack CPI, "
                     "bosh-cloudstack-cpi-core)", load_default=None, secret=True)
    state_timeout = _f(fields.Float, "Java CloudStack CPI name for timeouts.default (seconds)", load_default=None)
    state_timeout_volume = _f(fields.Float, "Java CloudStack CPI name for timeouts.volume (seconds)", load_default=None)
    stemcell_os_type = _f(
        fields.String, "OS type description for templates (plugin default, xen: Other PV (64-bit))", load_default=None
    )
    stemcell_requires_hvm = _f(
        fields.Boolean, "Register templates with requireshvm (plugin default)", load_default=None
    )
    stemcell_public_visibility = _f(fields.Boolean, "Make uploaded templates public", load_default=False)
    stemcell_publish_timeout = _f(
        fields.Float,
        "Minutes to wait for a template to become ready",
        load_default=30,
        validate=validate.Range(min=0, min_inclusive=False),
    )
    stemcell_upload_mode = _f(
        fields.String,
        "auto (direct where the cloud has getUploadParamsForTemplate, CloudStack 4.6+, else url) | "
        "direct (getUploadParamsForTemplate + POST) | url (registerTemplate)",
        load_default="auto",
        validate=validate.OneOf(["auto", "direct", "url"]),
    )
    stemcell_url_base = _f(
        fields.String, "url mode: base URL under which the operator serves stemcell images", load_default=None
    )
    stemcell_zones = _f(
        fields.List, "Extra zone names to register each stemcell in", load_default=list, cls_or_instance=fields.String()
    )
    proxy_host = _f(fields.String, "HTTP proxy host for API calls; none if empty", load_default=None)
    proxy_port = _f(fields.Integer, "HTTP proxy port", load_default=8080, validate=validate.Range(1, 65535))
    proxy_user = _f(fields.String, "HTTP proxy user", load_default=None)
    proxy_password = _f(fields.String, "HTTP proxy password", load_default=None, secret=True)
    connect_timeout = _f(fields.Float, "Seconds to establish a connection to the API", load_default=10)
    read_timeout = _f(fields.Float, "Seconds to wait for one API response", load_default=120)
    version = _f(
        fields.String,
        "CloudStack version of the cloud (e.g. 4.11); set, the CPI takes that version's routes without asking "
        "(cloudstack-cpi check prints it); unset, it learns the version when a newer command is refused",
        load_default=None,
        validate=validate.Regexp(r"^\d+\.\d+(\.\d+){0,2}$",
                                 error="must be a CloudStack version such as 4.11 or 4.19.1.0"),
    )
    user_data_max_length = _f(
        fields.Integer,
        "The cloud's vm.userdata.max.length (base64 characters of user data it accepts; CloudStack's "
        "default 32768): create_vm refuses bigger agent settings before creating anything",
        load_default=32768,
        validate=validate.Range(min=1),
    )
    timeouts = _nested(TimeoutsSchema, "Per-operation deadlines in seconds")

    build = staticmethod(normalise.build_cloudstack)


class AgentSchema(_Strict):
    mbus = _f(
        fields.String,
        "Message bus URL written into agent settings (nats://user:pass@host:4222)",
        load_default=None,
        secret=True,
    )

    build = staticmethod(normalise.build_agent)


class BlobstoreAgentSchema(_Strict):
    user = _f(fields.String, "Blobstore user for agents", load_default=None)
    password = _f(fields.String, "Blobstore password for agents", load_default=None, secret=True)


class BlobstoreSchema(_Strict):
    provider = _f(
        fields.String, "Blobstore provider written into agent settings (local, dav, s3, gcs…)", load_default=None
    )
    path = _f(fields.String, "local provider: blobstore path", load_default=None)
    address = _f(fields.String, "dav provider: blobstore address", load_default=None)
    port = _f(fields.Integer, "dav provider: blobstore port", load_default=None)
    agent = _nested(BlobstoreAgentSchema, "Credentials agents use for the blobstore")
    options = _f(fields.Dict, "Extra provider options passed through to agent settings", load_default=dict, secret=True)

    build = staticmethod(normalise.build_blobstore)


class RegistrySchema(_Strict):
    endpoint = _f(
        fields.String, "BOSH registry URL (API v1 with stemcells older than api_version 2 only)", load_default=None
    )
    user = _f(fields.String, "Registry user", load_default=None)
    password = _f(fields.String, "Registry password", load_default=None, secret=True)

    build = staticmethod(normalise.build_registry)


class OfferingTagsSchema(_Strict):
    tags = _f(fields.String, "Comma-separated offering tags calculate_vm_cloud_properties requires", load_default=None)


class CalculateSchema(_Strict):
    compute = _nested(OfferingTagsSchema, "Compute offering filter")
    disk = _nested(OfferingTagsSchema, "Disk offering filter")


class CpiSchema(_Strict):
    default_disk_offering = _f(
        fields.String, "Disk offering for persistent disks without disk_offering", load_default=None
    )
    default_ephemeral_disk_offering = _f(
        fields.String, "Disk offering for ephemeral disks without ephemeral_disk_offering", load_default=None
    )
    vm_expunge_delay = _f(
        fields.Float,
        "Seconds to wait after destroying a VM when it cannot be expunged at once",
        load_default=0,
        validate=validate.Range(min=0),
    )
    vm_create_delay = _f(
        fields.Float,
        "Seconds to wait after a VM starts (the Java CloudStack CPI's time for xentools)",
        load_default=0,
        validate=validate.Range(min=0),
    )
    force_expunge = _f(fields.Boolean, "Destroy VMs with expunge=true so their IPs are free at once", load_default=True)
    use_dhcp = _f(fields.Boolean, "Tell agents to configure every network by DHCP", load_default=False)
    anti_affinity_per_instance_group = _f(
        fields.Boolean, "Put each instance group's VMs in a host anti-affinity group", load_default=False
    )
    agent = _nested(AgentSchema, "What goes into agent settings")
    ntp = _f(fields.List, "NTP servers for agent settings", cls_or_instance=fields.String(), load_default=list)
    blobstore = _nested(BlobstoreSchema, "Blobstore for agent settings")
    registry = _nested(RegistrySchema, "Legacy BOSH registry")
    debug = _f(fields.Boolean, "Log each CloudStack request (redacted)", load_default=False)
    stemcell_serve_address = _f(
        fields.String,
        "url mode: host:port the CPI serves the image on while CloudStack downloads it",
        load_default=None,
    )
    calculate_vm_cloud_properties = _nested(CalculateSchema, "Offering filters for calculate_vm_cloud_properties")

    build = staticmethod(normalise.build_cpi)


class ConfigSchema(_Strict):
    cloudstack = fields.Nested(CloudStackSchema, required=True, metadata={"description": "CloudStack access"})
    cpi = _nested(CpiSchema, "CPI behaviour and agent settings")

    build = staticmethod(normalise.build_config)
