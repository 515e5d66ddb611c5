"""Create a new flavour plugin from this template: ``python3 new_plugin.py NAME [--extends xen|kvm|vmware]``.

Copies the template into ``./cpi-framework-NAME`` (the current directory, wherever it is) with
every name already changed: the distribution ``cpi-framework-NAME``, the package
``cpi_framework_NAME``, the entry point's key and ``HypervisorSpec.name`` ``NAME`` (what
operators write in ``cloudstack.hypervisor``), and the plugin it extends. Standard library
only, so it runs before anything is installed.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent
PLACEHOLDER = "myflavour"
BASES = ("xen", "kvm", "vmware")
SKIP = {"new_plugin.py", "__pycache__", ".venv", ".pytest_cache", "build", "dist"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="new_plugin.py", description=__doc__.splitlines()[0])
    parser.add_argument("name", help="the plugin's name: lower case letters, digits and _, e.g. acme")
    parser.add_argument("--extends", choices=BASES, default="xen", help="the shipped plugin to extend (xen)")
    parser.add_argument("--into", metavar="DIR", default=".", help="where to create it (the current directory)")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[a-z][a-z0-9_]*", args.name) or args.name in (*BASES, PLACEHOLDER):
        parser.error(f"invalid name {args.name!r}: lower case letters, digits and _, not {', '.join(BASES)}")
    target = Path(args.into) / f"cpi-framework-{args.name.replace('_', '-')}"
    if target.exists():
        parser.error(f"{target} already exists")
    shutil.copytree(TEMPLATE, target, ignore=lambda _dir, names: [n for n in names if n in SKIP
                                                                    or n.endswith(".egg-info")])
    (target / f"cpi_framework_{PLACEHOLDER}").rename(target / f"cpi_framework_{args.name}")
    for path in sorted(p for p in target.rglob("*") if p.is_file()):
        text = path.read_text(encoding="utf-8")
        new = rename(text, args.name, args.extends)
        if new != text:
            path.write_text(new, encoding="utf-8")
    print(f"created {target} (plugin '{args.name}', extends {args.extends}); next: see its README.md")
    return 0


def rename(text: str, name: str, base: str) -> str:
    """The template's placeholder names and its base plugin replaced."""
    text = text.replace(f"cpi-framework-{PLACEHOLDER}", f"cpi-framework-{name.replace('_', '-')}")
    text = text.replace(PLACEHOLDER, name)
    text = text.replace('BASE = "xen"', f'BASE = "{base}"')
    return text.replace('"cpi-framework-xen>=', f'"cpi-framework-{base}>=')


if __name__ == "__main__":
    sys.exit(main())
