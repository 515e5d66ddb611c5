"""Read-only catalogue: zones, offerings, OS types, key pairs, capabilities, limits."""

from __future__ import annotations

from typing import Any

from .. import limits, views
from ..params import Params
from . import Ctx, command


def _by_id(ctx: Ctx, p: Params, kind: str, objs: list[Any]) -> list[Any]:
    given, obj = ctx.id_filter(p, "id", kind)
    if given:
        return [o for o in objs if obj is not None and o.id == obj.id]
    ids = p.list("ids")
    if ids:
        return [o for o in objs if o.id in ids]
    return objs


@command("listZones")
def list_zones(ctx: Ctx, p: Params) -> dict[str, Any]:
    zones = _by_id(ctx, p, "zone", ctx.st.live("zone"))
    return ctx.listing(p, [views.zone_view(ctx.st, z) for z in zones], "zone")


@command("listServiceOfferings")
def list_service_offerings(ctx: Ctx, p: Params) -> dict[str, Any]:
    offs = _by_id(ctx, p, "serviceoffering", ctx.st.live("serviceoffering"))
    return ctx.listing(p, [views.service_offering_view(ctx.st, o) for o in offs], "serviceoffering")


@command("listDiskOfferings")
def list_disk_offerings(ctx: Ctx, p: Params) -> dict[str, Any]:
    offs = _by_id(ctx, p, "diskoffering", ctx.st.live("diskoffering"))
    return ctx.listing(p, [views.disk_offering_view(ctx.st, o) for o in offs], "diskoffering")


@command("listOsTypes")
def list_os_types(ctx: Ctx, p: Params) -> dict[str, Any]:
    types = _by_id(ctx, p, "ostype", ctx.st.live("ostype"))
    desc = p.str("description")
    if desc is not None:
        # The DAO matches description with LIKE %...% (fuzzy): filter exactly client-side.
        types = [t for t in types if desc.lower() in t.description.lower()]
    return ctx.listing(p, [views.ostype_view(ctx.st, t) for t in types], "ostype")


@command("listSSHKeyPairs")
def list_ssh_key_pairs(ctx: Ctx, p: Params) -> dict[str, Any]:
    keys = ctx.st.live("keypair")
    fp = p.str("fingerprint")
    if fp:
        keys = [k for k in keys if k.fingerprint == fp]
    return ctx.listing(p, [views.keypair_view(ctx.st, k) for k in keys], "sshkeypair")


@command("listAffinityGroupTypes")
def list_affinity_group_types(ctx: Ctx, p: Params) -> dict[str, Any]:
    # Object name is camelCase here (libcloud fixture listAffinityGroupTypes_default.json).
    types = [{"type": t} for t in ctx.cfg.get("affinity_group_types") or []]
    return ctx.listing(p, types, "affinityGroupType")


@command("listHypervisors")
def list_hypervisors(ctx: Ctx, p: Params) -> dict[str, Any]:
    zones = ctx.st.live("zone")
    given, zone = ctx.id_filter(p, "zoneid", "zone")
    if given:
        zones = [z for z in zones if zone is not None and z.id == zone.id]
    names = sorted({z.hypervisor for z in zones})
    return ctx.listing(p, [{"name": n} for n in names], "hypervisor")


@command("listHypervisorCapabilities")
def list_hypervisor_capabilities(ctx: Ctx, p: Params) -> dict[str, Any]:
    rows = []
    hv_filter = p.str("hypervisor")
    for hv in sorted({z.hypervisor for z in ctx.st.live("zone")}):
        if hv_filter and hv_filter.lower() != hv.lower():
            continue
        zone = next(z for z in ctx.st.live("zone") if z.hypervisor == hv)
        rows.append({"id": f"{hv.lower()}-default", "hypervisor": hv, "hypervisorversion": "default",
                     "maxdatavolumeslimit": zone.max_data_volumes, "maxguestslimit": 500,
                     "maxhostspercluster": 32, "securitygroupenabled": False, "storagemotionenabled": True,
                     "vmsnapshotenabled": True})
    # The one camelCase list name of the API.
    return ctx.listing(p, rows, "hypervisorCapabilities")


@command("listCapabilities")
def list_capabilities(ctx: Ctx, p: Params) -> dict[str, Any]:
    api = ctx.cfg["api"]
    capability = {
        "cloudstackversion": ctx.cfg["cloudstack_version"], "securitygroupsenabled": False,
        "userpublictemplateenabled": True, "supportELB": "false", "projectinviterequired": False,
        "allowusercreateprojects": True, "customdiskofferingminsize": 1, "customdiskofferingmaxsize": 1024,
        "kvmsnapshotenabled": True,
        "allowuserviewdestroyedvm": bool(api.get("allow_user_view_destroyed_vm", True)),
        "allowuserexpungerecovervm": bool(api.get("allow_user_expunge_recover_vm", True)),
        "allowuserexpungerecovervolume": True, "allowuserforcestopvm": True,
        "apilimitinterval": 1, "apilimitmax": int(api.get("throttle_rps") or 0),
        "regionsecondaryenabled": False, "dynamicrolesenabled": True, "defaultuipagesize": 20,
        "instancesstatsretentiontime": 720, "instancesdisksstatsretentiontime": 720,
    }
    # Fields a release does not have yet are absent (versions.CAPABILITIES_SINCE); dynamic roles from 4.9.
    return {"capability": {k: v for k, v in capability.items() if ctx.profile.capability(k)}}


@command("listResourceLimits")
def list_resource_limits(ctx: Ctx, p: Params) -> dict[str, Any]:
    # A root admin has no limits: every row shows -1 (ResourceLimitManagerImpl.findCorrectResourceLimitForAccount).
    rows = limits.limit_rows(ctx.cfg, ctx.st.domain_id)
    rt = p.str("resourcetype")
    if rt is not None:
        rows = [r for r in rows if r["resourcetype"] == rt]
    rtn = p.str("resourcetypename")
    if rtn is not None:
        rows = [r for r in rows if r["resourcetypename"] == rtn]
    return ctx.listing(p, rows, "resourcelimit")
