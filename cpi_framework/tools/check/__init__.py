"""``cloudstack-cpi check``: validate the config, then the cloud it points at, one line per fact.

Every check is read-only: nothing is created, uploaded or tagged. The order follows what
depends on what (no zone checks without working keys), and each failure carries the fix.
Template-upload permission is read from ``listApis`` (the commands the account's role may
call) and the account's template/secondary-storage limits, never by requesting upload
parameters, because ``getUploadParamsForTemplate`` already creates a template record. The one
exception is opt-in: ``--probe-upload`` asks for upload parameters to learn the upload host
(the SSVM) and test its TLS, then deletes that record (:mod:`cpi_framework.tools.upload_probe`).

This module is the command: :class:`Checker` runs the checks in order, :func:`render` prints
them. The checks live in one mixin per concern: :mod:`.local` (files, plugin), :mod:`.endpoint`
(TLS, keys, version, throttling), :mod:`.catalogue` (zones, offerings, networks…) and
:mod:`.upload` (stemcell uploads), on the shared helpers of :mod:`.base`.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import asdict
from typing import Any

from cpi_framework.tools.check.base import CPI_READS, DENIED, STATUSES, CheckerBase, Result
from cpi_framework.tools.check.catalogue import CatalogueChecks
from cpi_framework.tools.check.endpoint import EndpointChecks
from cpi_framework.tools.check.local import LocalChecks
from cpi_framework.tools.check.upload import UploadChecks
from cpi_framework.tools.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    color,
    common_options,
    make_parser,
    print_json,
    run_tool,
    tool_context,
)

__all__ = ["CPI_READS", "DENIED", "STATUSES", "Checker", "CheckerBase", "Result", "main", "render"]


class Checker(LocalChecks, EndpointChecks, CatalogueChecks, UploadChecks):
    """Runs the checks in order, collecting one :class:`Result` each; stops where later ones cannot run."""

    def run(self) -> list[Result]:
        from cpi_framework.cloudstack import CloudStackError

        config = self.check_config()
        cloud = self.check_cloud_config_file()
        if config is None:
            return self.results
        self.check_agent_settings(config)
        # retries are reported by the failing line itself, so only errors reach stderr
        self.ctx = tool_context(config, "check", verbose=self.verbose, level=logging.ERROR)
        try:
            if not self.check_plugin() or not self.check_endpoint():
                return self.results
            zone = self.check_zone(config.cloudstack.default_zone, "zone")
            for extra in config.cloudstack.stemcell_zones:
                self.check_zone(extra, f"stemcell zone {extra}")
            config = self.ctx.config  # now with the plugin's defaults (OS type…)
            self.check_offerings(config)
            self.check_key_pair(config)
            self.check_os_type(config)
            if cloud is not None:
                self.check_cloud_config(cloud, zone)
            self.check_guest(config)
            self.check_template_upload(config)
            self.check_upload_host(config)
            self.report_throttling()
        except CloudStackError as exc:  # a read no line guards: still a line, never a traceback
            self.unreadable("cloud", "the rest of the cloud", exc)
        finally:
            self.ctx.close()
        return self.results


def render(results: list[Result], stream: Any = None) -> None:
    out = stream or sys.stdout
    marks = {"pass": ("PASS", "green"), "warn": ("WARN", "yellow"), "fail": ("FAIL", "red"), "skip": ("SKIP", "dim")}
    width = max((len(r.check) for r in results), default=0)
    for r in results:
        mark, hue = marks[r.status]
        out.write(f"{color(mark, hue, out)}  {r.check.ljust(width)}  {r.message}\n")
        if r.fix and r.status in ("fail", "warn"):
            out.write(f"{' ' * (width + 8)}fix: {r.fix}\n")
    counts = {s: sum(1 for r in results if r.status == s) for s in STATUSES}
    out.write(", ".join(f"{n} {s}" for s, n in counts.items() if n) + "\n")


def main(argv: list[str]) -> int:
    parser = make_parser(
        "check", "Validate the CPI config, then the CloudStack cloud it points at (read-only).",
        parents=[common_options()],
        epilog="Each line is PASS, WARN, FAIL or SKIP; failures and warnings say how to fix them.\n"
               "Exit status: 0 when nothing failed, 1 when a check failed, 2 on a usage error or an\n"
               "invalid config file (each problem is its own FAIL line).",
    )
    parser.add_argument("--cloud-config", metavar="PATH",
                        help="a BOSH cloud-config (YAML) whose AZs, VM/disk types and networks are checked too")
    parser.add_argument("--probe-upload", action="store_true",
                        help="also test the TLS of the stemcell upload host (the secondary storage VM) of each "
                             "stemcell zone: asks getUploadParamsForTemplate, which creates an empty template "
                             "record, and deletes it at once (the only check that writes)")
    args = parser.parse_args(argv)

    def body() -> int:
        checker = Checker(args.config, args.cloud_config, verbose=args.verbose, probe_upload=args.probe_upload)
        results = checker.run()
        if args.json:
            print_json({"ok": not checker.failed, "checks": [asdict(r) for r in results]})
        else:
            render(results)
        if checker.config_invalid:
            return EXIT_USAGE
        return EXIT_FAILED if checker.failed else EXIT_OK

    return run_tool(body)
