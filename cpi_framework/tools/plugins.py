"""``cloudstack-cpi plugins``: the installed hypervisor plugins, what each provides, and the active one.

It answers the questions an operator or plugin author has before a deploy: is my plugin
installed (and only once), which distribution and version provides it, which CloudStack
hypervisor and stemcell formats it serves, what it ``extends``, which hooks it implements,
and which plugin a given config selects. It reuses the manager's discovery and chain
resolution, so it fails exactly where the CPI would, with the same messages.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from cpi_framework.errors import ConfigError, CpiFrameworkError, PluginError
from cpi_framework.plugin_system.manager import (
    LoadedPlugin,
    PluginEntry,
    build_manager,
    describe,
    discover,
    resolve_chain,
)
from cpi_framework.tools.common import (
    EXIT_FAILED,
    EXIT_OK,
    color,
    common_options,
    format_table,
    make_parser,
    print_json,
    run_tool,
)

EPILOG = """\
The active plugin is the one the config's cloudstack.hypervisor names (default: xen), plus
the plugins it extends. Exit status: 0 when every plugin loads (and the active one resolves),
1 when a plugin fails to load or the config names an unknown plugin, 2 on a usage error, an
invalid config (the whole file is validated, as the CPI would) or when two distributions claim
one plugin name.
"""


@dataclass
class PluginRow:
    """One installed plugin as the listing shows it."""

    name: str
    distribution: str
    version: str
    entry_point: str
    cloudstack_type: str | None = None
    extends: str | None = None
    stemcell_formats: list[str] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)
    description: str = ""
    active: bool = False
    in_active_chain: bool = False
    error: str | None = None


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "plugins",
        "List the installed hypervisor plugins and mark the one a config selects.",
        parents=[common_options(config_required=False)],
        epilog=EPILOG,
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    return run_tool(lambda: _run(args.config, as_json=args.json))


def _run(config_path: str | None, *, as_json: bool) -> int:
    try:
        installed = discover()
    except PluginError as exc:  # two distributions claim one name: nothing can be selected safely
        if as_json:
            print_json({"config": config_path, "active": None, "active_chain": [], "error": str(exc), "plugins": []})
        raise
    rows = {name: _row(entry) for name, entry in sorted(installed.items())}
    _inherit_hypervisor_types(rows)
    active, problem, chain_names = None, None, []
    if config_path:
        active = _active_plugin(config_path, as_json=as_json)
        try:
            chain = resolve_chain(active, installed)
        except PluginError as exc:
            problem = str(exc)
        else:
            chain_names = [loaded.spec.name for loaded in chain]
            for name in chain_names:
                rows[name].in_active_chain = True
            rows[active].active = True
    failed = [row for row in rows.values() if row.error]
    if as_json:
        print_json({
            "config": config_path,
            "active": active,
            "active_chain": chain_names,
            "error": problem,
            "plugins": [vars(row) for row in rows.values()],
        })
    else:
        _print_text(list(rows.values()), config_path, active, problem)
    return EXIT_FAILED if problem or failed else EXIT_OK


def _active_plugin(config_path: str, *, as_json: bool) -> str:
    """The ``cloudstack.hypervisor`` of a config the CPI would accept: the whole file is validated, as
    the other tools do, so a misspelled key anywhere fails here (exit 2, "did you mean") and not at deploy."""
    from cpi_framework.config import load_config

    try:
        return load_config(config_path).cloudstack.hypervisor
    except ConfigError as exc:
        if as_json:
            print_json({"config": config_path, "active": None, "active_chain": [], "error": str(exc), "plugins": []})
        raise


def _row(entry: PluginEntry) -> PluginRow:
    row = PluginRow(entry.name, entry.distribution, entry.version, entry.value)
    try:
        plugin = entry.load()
        spec = describe(plugin, entry.name)
        manager = build_manager([LoadedPlugin(entry, plugin, spec)])
    except CpiFrameworkError as exc:
        row.error = str(exc)
        return row
    row.cloudstack_type, row.extends, row.description = spec.cloudstack_type, spec.extends, spec.description
    row.stemcell_formats = list(spec.stemcell_formats)
    row.hooks = sorted(
        name
        for name, caller in vars(manager.hook).items()
        if not name.startswith("_") and any(impl.plugin is plugin for impl in caller.get_hookimpls())
    )
    return row


def _inherit_hypervisor_types(rows: dict[str, PluginRow]) -> None:
    """A flavour that names no hypervisor type or formats serves its base's (as the CPI does)."""
    for row in rows.values():
        seen, base = {row.name}, rows.get(row.extends or "")
        while base is not None and base.name not in seen and not (row.cloudstack_type and row.stemcell_formats):
            row.cloudstack_type = row.cloudstack_type or base.cloudstack_type
            row.stemcell_formats = row.stemcell_formats or list(base.stemcell_formats)
            seen.add(base.name)
            base = rows.get(base.extends or "")


def _print_text(rows: list[PluginRow], config_path: str | None, active: str | None, problem: str | None) -> None:
    out = sys.stdout
    if not rows:
        out.write("no hypervisor plugins installed (entry-point group 'cpi_framework')\n")
    else:
        table = [
            {
                "mark": "*" if row.active else ("+" if row.in_active_chain else ""),
                "name": row.name,
                "version": row.version,
                "distribution": row.distribution,
                "hypervisor": row.cloudstack_type or "-",
                "extends": row.extends or "-",
                "formats": ", ".join(row.stemcell_formats) or "-",
            }
            for row in rows
        ]
        headers = {"mark": " ", "formats": "STEMCELL FORMATS"}
        columns = ["mark", "name", "version", "distribution", "hypervisor", "extends", "formats"]
        out.write(format_table(table, columns, headers) + "\n\n")
        for row in rows:
            if row.error:
                out.write(color(f"{row.name}: failed to load: {row.error}", "red") + "\n")
            else:
                out.write(f"{row.name} hooks: {', '.join(row.hooks)}\n")
    out.write("\n")
    if problem:
        out.write(color(f"error: {problem}", "red") + "\n")
    elif active:
        chain = [r.name for r in rows if r.in_active_chain and not r.active]
        via = f" (extends {', '.join(chain)})" if chain else ""
        out.write(f"active: {active}{via}, selected by cloudstack.hypervisor in {config_path}\n")
    else:
        out.write("active: the plugin cloudstack.hypervisor names (default xen); pass --config to check one\n")
    out.flush()

