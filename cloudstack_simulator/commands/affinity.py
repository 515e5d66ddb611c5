"""Affinity groups."""

from __future__ import annotations

import uuid
from typing import Any

from .. import models as m
from .. import views
from ..errors import ApiError, param_error
from ..params import Params
from . import Ctx, command


@command("createAffinityGroup", is_async=True)
def create_affinity_group(ctx: Ctx, p: Params) -> dict[str, Any]:
    name, gtype = p.req("name"), p.req("type")
    if gtype not in (ctx.cfg.get("affinity_group_types") or []):
        raise param_error(f"Unable to create affinity group, invalid affinity group type{gtype}")
    if ctx.st.by_name("affinitygroup", name) is not None:
        raise param_error(f"Unable to create affinity group, a group with name {name} already exists.")
    group = ctx.st.add("affinitygroup", m.AffinityGroup(str(uuid.uuid4()), name, gtype,
                                                        p.str("description") or ""))

    def on_fail(_err: ApiError) -> None:
        group.removed = True

    job = ctx.submit(lambda: {"affinitygroup": views.affinity_group_view(ctx.st, group)}, on_fail,
                     "AffinityGroup", group.id)
    return {"id": group.id, "jobid": job.id}


@command("deleteAffinityGroup", is_async=True)
def delete_affinity_group(ctx: Ctx, p: Params) -> dict[str, Any]:
    group = ctx.entity(p, "id", "affinitygroup")
    if group is None:
        name = p.str("name")
        if not name:
            raise param_error("Either the affinity group Id or affinity group Name must be specified to delete "
                              "the group")
        group = ctx.st.by_name("affinitygroup", name)
        if group is None:
            raise param_error(f"Unable to find affinity group by name {name}")

    def run() -> dict[str, Any]:
        if any(group.id in vm.affinity_group_ids for vm in ctx.st.live("vm")):
            raise ApiError(536, f"Cannot delete affinity group {group.name} since it is in use by instances", 4250)
        group.removed = True
        return {"success": True}

    return {"jobid": ctx.submit(run, None, "AffinityGroup", group.id).id}


@command("listAffinityGroups")
def list_affinity_groups(ctx: Ctx, p: Params) -> dict[str, Any]:
    groups = ctx.st.live("affinitygroup")
    given, obj = ctx.id_filter(p, "id", "affinitygroup")
    if given:
        groups = [g for g in groups if obj is not None and g.id == obj.id]
    gtype = p.str("type")
    if gtype:
        groups = [g for g in groups if g.type == gtype]
    g_, vm = ctx.id_filter(p, "virtualmachineid", "vm")
    if g_:
        groups = [g for g in groups if vm is not None and g.id in vm.affinity_group_ids]
    return ctx.listing(p, [views.affinity_group_view(ctx.st, g) for g in groups], "affinitygroup")
