"""Write docs/configuration.md from the config schema, so the reference cannot drift.

Run: ``.venv/bin/python scripts/gen_config_reference.py``; ``--check`` exits 1 when the
committed file differs (the core test suite runs that check).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cpi_framework.config import property_table

TARGET = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"

HEADER = """# Configuration reference

The CPI reads one file, `--config PATH`, in JSON (YAML is accepted too). Its tree is the
`cloudstack_cpi` release job's property tree: the job's `cpi.json.erb` dumps the properties,
so every name below is also a job property. Generated from `cpi_framework/config/schema.py` by
`scripts/gen_config_reference.py`; do not edit by hand.

* Unknown keys are errors that name the key and the file (typos never pass silently).
* Properties marked *plugin default* take their value from the active hypervisor plugin
  (`cloudstack.hypervisor`) unless the file sets them.
* Secret properties are never logged, not even with `cpi.debug: true`.
* The director's `context` may override `cloudstack.*` and `cpi.*` properties per call
  (cpi-config properties), validated by the same rules.

| property | default | secret | description |
| --- | --- | --- | --- |
"""


def render() -> str:
    rows = []
    for prop in property_table():
        if prop.required:
            default = "**required**"
        elif prop.default is None:
            default = "*plugin default*" if prop.name in PLUGIN_DEFAULTS else "—"
        else:
            default = f"`{json.dumps(prop.default)}`"
        description = prop.description.replace("|", "\\|")
        rows.append(f"| `{prop.name}` | {default} | {'yes' if prop.secret else ''} | {description} |")
    return HEADER + "\n".join(rows) + "\n"


PLUGIN_DEFAULTS = {"cloudstack.stemcell_os_type", "cloudstack.stemcell_requires_hvm"}


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not TARGET.exists() or TARGET.read_text() != text:
            print(f"{TARGET} is out of date: run scripts/gen_config_reference.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
