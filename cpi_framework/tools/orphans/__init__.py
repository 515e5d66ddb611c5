"""``cloudstack-cpi orphans``: find, and with ``--delete`` remove, what this CPI left behind.

Only resources carrying the CPI's ownership tag (``bosh-cpi=cloudstack``, and the director's
``bosh-director-uuid`` when given) are ever looked at, so other tenants' resources and
hand-made ones are never candidates. A resource is *provably* orphaned only by facts the cloud
holds, never by a guess, and only once it is older than ``--min-age`` (a ``create_vm`` may be
running right now):

* VM: never received BOSH metadata (``set_vm_metadata`` writes ``director``/``deployment``…
  right after every ``create_vm``), so no director knows it: an interrupted ``create_vm``.
* ephemeral disk: attached to no VM, or its VM (tag ``bosh-vm-id``) is gone or orphaned.
* persistent disk: detached, and only with ``--include-persistent-disks`` (a director keeps
  detached disks of stopped instances and its own orphaned disks); an attached one never.
* snapshot: its volume is gone, or it ended in ``Error``.
* template (stemcell): its upload or registration failed, or it never became ready within
  ``stemcell_publish_timeout``; or it is a per-zone copy of a stemcell that is gone.
"""

# The docstring above is also the command's --help epilog (see main), so the layout note is a
# comment: the scans and deletions live in .scanner; this module is the command and its report.

from __future__ import annotations

import sys
from typing import Any

from cpi_framework.tools.common import (
    EXIT_FAILED,
    EXIT_OK,
    ToolError,
    color,
    common_options,
    format_duration,
    format_table,
    is_terminal,
    make_parser,
    parse_duration,
    print_json,
    run_tool,
    tool_context,
)
from cpi_framework.tools.orphans.scanner import (
    KINDS,
    METADATA_KEYS,
    TRANSITIONAL_VM_STATES,
    UNTAGGED_EPHEMERAL_NAME,
    UNTAGGED_VM_NAME,
    Finding,
    Scanner,
    has_bosh_metadata,
)

__all__ = [
    "KINDS",
    "METADATA_KEYS",
    "TRANSITIONAL_VM_STATES",
    "UNTAGGED_EPHEMERAL_NAME",
    "UNTAGGED_VM_NAME",
    "Finding",
    "Scanner",
    "has_bosh_metadata",
    "main",
    "render",
]


def render(findings: list[Finding], *, deleting: bool, stream: Any = None) -> None:
    out = stream or sys.stdout
    if not findings:
        out.write("no orphans: every resource tagged bosh-cpi=cloudstack belongs to something\n")
        return
    terminal = is_terminal(out)  # into a file or a pipe nothing is cut: ids and reasons stay whole
    rows = []
    for f in findings:
        action = f.result or ("delete" if f.orphan and deleting else "orphan" if f.orphan else "keep")
        rows.append(
            {
                "kind": f.kind,
                "id": f.id,
                "name": f.name,
                "state": f.state,
                "age": "?" if f.age is None else format_duration(f.age),
                "director": f.director[:12] if terminal else f.director,
                "action": action,
                "reason": f.reason + (f" — {f.note}" if f.note else ""),
            }
        )
    out.write(
        format_table(rows, ["kind", "id", "name", "state", "age", "director", "action", "reason"],
                     max_width=90 if terminal else None) + "\n"
    )
    orphans = sum(1 for f in findings if f.orphan)
    summary = f"{orphans} provable orphan(s), {len(findings) - orphans} kept"
    if not deleting and orphans:
        summary += "; run again with --delete to remove the orphans"
    out.write(color(summary, "bold", out) + "\n")


def main(argv: list[str]) -> int:
    parser = make_parser(
        "orphans",
        "Find resources tagged bosh-cpi=cloudstack that no longer belong to anything.",
        parents=[common_options()],
        epilog=__doc__.split("\n\n", 1)[1].replace("``", "")
        + "\nExit status: 0, or 1 when a deletion failed, 2 on a usage error.",
    )
    parser.add_argument("--delete", action="store_true", help="delete the provable orphans (default: only list)")
    parser.add_argument(
        "--min-age",
        type=parse_duration,
        default=3600.0,
        metavar="DURATION",
        help="only resources at least this old are orphans (default 1h; e.g. 30m, 2d, 0)",
    )
    parser.add_argument(
        "--include-persistent-disks",
        action="store_true",
        help="also delete detached persistent disks (never attached ones)",
    )
    parser.add_argument("--director-uuid", metavar="UUID", help="only resources of this director")
    args = parser.parse_args(argv)

    def body() -> int:
        ctx = tool_context(args.config, "orphans", verbose=args.verbose, director_uuid=args.director_uuid)
        try:
            scanner = Scanner(
                ctx,
                director_uuid=args.director_uuid,
                min_age=args.min_age,
                include_persistent=args.include_persistent_disks,
            )
            findings = scanner.scan()
            directors = sorted({f.director for f in findings if f.orphan})
            if args.delete and not args.director_uuid and len(directors) > 1:
                names = ", ".join(d or "(none)" for d in directors)
                raise ToolError(
                    f"orphans of {len(directors)} directors found ({names}); "
                    "pass --director-uuid to choose whose to delete"
                )
            failures = scanner.delete() if args.delete else 0
        finally:
            ctx.close()
        if args.json:
            print_json(
                {
                    "director_uuid": args.director_uuid,
                    "min_age_seconds": args.min_age,
                    "deleted": args.delete,
                    "failures": failures,
                    "findings": [f.as_dict() for f in findings],
                }
            )
        else:
            render(findings, deleting=args.delete)
        return EXIT_FAILED if failures else EXIT_OK

    return run_tool(body)
