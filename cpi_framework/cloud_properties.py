"""VM and network cloud_properties: marshmallow schemas that tolerate unknown keys and name bad ones.

The Java CloudStack CPI (bosh-cloudstack-cpi-core) failed ``create_vm`` on any key it did not know; merged AZ,
vm_type and vm_extension properties routinely carry keys meant for someone else, so unknown
keys are logged as a warning and ignored. A key we know with a value of the wrong type is an
operator error: :class:`~cpi_framework.errors.CpiError` naming the key and the value.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from cpi_framework.config import flatten_errors
from cpi_framework.errors import CpiError

if TYPE_CHECKING:
    from cpi_framework.context import CallContext

DEFAULT_AFFINITY_TYPE = "host anti-affinity"
NETWORK_TYPES = ("manual", "dynamic", "vip")


class _Tolerant(Schema):
    class Meta:
        unknown = EXCLUDE


class LoadBalancerField(fields.Field):
    """An ``lbs`` entry: a rule name, or the Go CPI's object form ``{name: …, …}`` (only ``name`` is used)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, str) and value:
            return value
        if isinstance(value, dict) and isinstance(value.get("name"), str) and value["name"]:
            return value["name"]
        raise ValidationError("must be a load balancer rule name or an object with a 'name'")


class RouteSchema(_Tolerant):
    """One Go-CPI route: ``{cidr: 10.0.0.0/8, gateway: 10.1.0.1}`` (gateway defaults to the network's)."""

    cidr = fields.String(required=True, data_key="cidr")
    gateway = fields.String(load_default=None)


class VmTypeSchema(_Tolerant):
    """Merged AZ + vm_type + vm_extension cloud_properties (the keys docs/vms.md lists plus the Go CPI's)."""

    compute_offering = fields.String(load_default=None, validate=validate.Length(min=1))
    cpu = fields.Integer(load_default=None, validate=validate.Range(min=1))
    ram = fields.Integer(load_default=None, validate=validate.Range(min=1))
    cpu_speed = fields.Integer(load_default=None, validate=validate.Range(min=1))
    disk = fields.Integer(load_default=None, validate=validate.Range(min=0))
    ephemeral_disk_offering = fields.String(load_default=None, validate=validate.Length(min=1))
    root_disk_size = fields.Integer(load_default=None, validate=validate.Range(min=1))
    affinity_group = fields.String(load_default=None, validate=validate.Length(min=1))
    affinity_group_type = fields.String(load_default=DEFAULT_AFFINITY_TYPE, validate=validate.Length(min=1))
    lbs = fields.List(LoadBalancerField(), load_default=list)
    routes = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(RouteSchema)), load_default=dict)
    zone = fields.String(load_default=None, validate=validate.Length(min=1))


class NetworkCloudPropertiesSchema(_Tolerant):
    name = fields.String(load_default=None, validate=validate.Length(min=1))
    undiscoverable = fields.Boolean(load_default=False)


class _PrefixField(fields.Field):
    """The director sends ``prefix`` as a string ("32"); accept an integer too, keep a string."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValidationError("must be a string or an integer")
        return str(value)


class NetworkSchema(_Tolerant):
    """One entry of ``create_vm``'s ``networks`` as the director or the CLI sends it."""

    type = fields.String(load_default=None, validate=validate.OneOf(NETWORK_TYPES))
    ip = fields.String(load_default=None, validate=validate.Length(min=1))
    netmask = fields.String(load_default=None)
    gateway = fields.String(load_default=None)
    prefix = _PrefixField(load_default=None)
    dns = fields.List(fields.String(), load_default=None, allow_none=True)
    default = fields.List(fields.String(), load_default=None, allow_none=True)
    nic_group = fields.Raw(load_default=None)
    mac = fields.String(load_default=None)
    alias = fields.String(load_default=None)
    preconfigured = fields.Boolean(load_default=None)
    routes = fields.List(fields.Dict(), load_default=None)
    cloud_properties = fields.Nested(NetworkCloudPropertiesSchema, load_default=lambda: {"name": None,
                                                                                        "undiscoverable": False})


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _problems(where: str, raw: dict[str, Any], exc: ValidationError) -> str:
    parts = []
    for key, message in flatten_errors(exc.messages):
        key = re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", re.sub(r"\.value(?=\.|$)", "", key))
        parts.append(f"{where}.{key} = {_short(_value_at(raw, key))}: {message}")
    return "; ".join(parts)


def _value_at(raw: Any, dotted: str) -> Any:
    """The value a marshmallow error path (``routes.net[0].cidr``) points at, for the message."""
    value = raw
    for part in re.split(r"\.|\[|\]", dotted):
        if part == "":
            continue
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _warn_unknown(ctx: CallContext, where: str, raw: dict[str, Any], known: set[str]) -> None:
    unknown = sorted(k for k in raw if k not in known)
    if unknown:
        ctx.log.warning("%s: ignoring unknown keys %s", where, ", ".join(unknown))


def vm_type_schema(ctx: CallContext) -> Schema:
    """The VM schema plus the fields the active plugins add (``cpi_vm_type_schema``)."""
    extra = ctx.plugins.vm_type_fields()
    if not extra:
        return VmTypeSchema()
    return type("PluginVmTypeSchema", (VmTypeSchema,), dict(extra))()


def load_vm_type(ctx: CallContext, props: dict[str, Any] | None) -> dict[str, Any]:
    """Validated VM cloud_properties; unknown keys warned about, wrong types a CpiError naming them."""
    raw = dict(props or {})
    schema = vm_type_schema(ctx)
    try:
        loaded: dict[str, Any] = schema.load(raw)
    except ValidationError as exc:
        raise CpiError(f"Invalid VM cloud_properties: {_problems('cloud_properties', raw, exc)}") from None
    _warn_unknown(ctx, "VM cloud_properties", raw, set(schema.fields))
    return loaded


def load_networks(ctx: CallContext, networks: Any) -> dict[str, dict[str, Any]]:
    """Validated ``networks`` with BOSH's rules: manual and vip need an ``ip``, at most one vip,
    at least one manual or dynamic network, each of those naming its CloudStack network.

    A missing ``type`` means manual when an ``ip`` is given, else dynamic (the Java CloudStack CPI defaulted to
    manual for compilation VMs, which then failed for want of an IP).
    """
    if not isinstance(networks, dict) or not networks:
        raise CpiError(f"Invalid networks: expected a non-empty object of network name → settings, got "
                       f"{_short(networks)}")
    result: dict[str, dict[str, Any]] = {}
    for name, spec in networks.items():
        where = f"networks.{name}"
        if not isinstance(spec, dict):
            raise CpiError(f"Invalid {where}: expected an object, got {_short(spec)}")
        try:
            loaded = NetworkSchema().load(spec)
        except ValidationError as exc:
            raise CpiError(f"Invalid network settings: {_problems(where, spec, exc)}") from None
        if loaded["type"] is None:
            loaded["type"] = "manual" if loaded["ip"] else "dynamic"
        if loaded["type"] in ("manual", "vip") and not loaded["ip"]:
            raise CpiError(f"Invalid {where}: a {loaded['type']} network needs an 'ip' (got {_short(spec.get('ip'))})")
        if loaded["type"] != "vip" and not loaded["cloud_properties"]["name"]:
            raise CpiError(
                f"Invalid {where}.cloud_properties.name = {_short((spec.get('cloud_properties') or {}).get('name'))}:"
                " a manual or dynamic network must name its CloudStack network"
            )
        loaded["raw"] = spec
        result[str(name)] = loaded
    vips = [n for n, s in result.items() if s["type"] == "vip"]
    if len(vips) > 1:
        raise CpiError(f"Invalid networks: at most one vip network is supported, got {len(vips)} "
                       f"({', '.join(sorted(vips))})")
    if len(vips) == len(result):
        raise CpiError(f"Invalid networks: at least one manual or dynamic network is needed besides the vip "
                       f"network '{vips[0]}'")
    return result
