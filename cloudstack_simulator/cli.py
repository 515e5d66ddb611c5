"""``python -m cloudstack_simulator`` / ``cloudstack-cpi simulator``: run a simulator until signalled."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from types import FrameType
from typing import Any

from .config import ConfigError
from .simulator import Simulator


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cloudstack-simulator",
                                description="Run the CloudStack API simulator until SIGINT/SIGTERM.")
    p.add_argument("--config", help="YAML/JSON config (deep-merged over the bundled default.yml); "
                                    "bundled examples: default.yml, xen.yml, kvm.yml, vmware.yml")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    p.add_argument("--tls-cert", help="PEM certificate (serve HTTPS)")
    p.add_argument("--tls-key", help="PEM private key")
    p.add_argument("--upload-tls-cert", help="PEM certificate of the upload host (the SSVM; default: --tls-cert)")
    p.add_argument("--upload-tls-key", help="PEM private key of the upload host")
    p.add_argument("--json", action="store_true", help="print the start-up facts as one JSON line")
    return p


def inventory_summary(config: dict[str, Any]) -> dict[str, str]:
    """What a CPI config for this simulator can name: zones (with hypervisor), offerings, key pairs."""
    def names(items: Any) -> str:
        return ", ".join(str(i.get("name")) for i in items or [] if isinstance(i, dict)) or "-"

    zones = ", ".join(f"{z['name']} ({z['hypervisor']})" for z in config.get("zones") or [])
    return {"zones": zones or "-", "compute offerings": names(config.get("service_offerings")),
            "disk offerings": names(config.get("disk_offerings")), "ssh key pairs": names(config.get("ssh_keypairs"))}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        print("--tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    if bool(args.upload_tls_cert) != bool(args.upload_tls_key):
        print("--upload-tls-cert and --upload-tls-key go together", file=sys.stderr)
        return 2
    tls = (args.tls_cert, args.tls_key) if args.tls_cert else None
    upload_tls = (args.upload_tls_cert, args.upload_tls_key) if args.upload_tls_cert else None
    try:
        sim = Simulator(config=args.config, host=args.host, port=args.port, tls=tls, upload_tls=upload_tls)
    except (ConfigError, OSError) as err:
        print(f"cloudstack simulator: {err}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def _signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, _signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with sim:
            facts = {"endpoint": sim.endpoint, "api_key": sim.api_key, "secret_key": sim.secret_key,
                     "admin": f"{sim.base_url}/_sim/", "upload": f"{sim.upload_base}/upload/",
                     **inventory_summary(sim.config)}
            if args.json:
                print(json.dumps(facts), flush=True)
            else:
                for key, value in facts.items():
                    print(f"{key}: {value}", flush=True)
            while not stop.wait(0.5):
                pass
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 0
