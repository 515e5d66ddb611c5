"""``info`` wall time against a bare ``python -c pass``, measured side by side in one run.

Run: ``.venv/bin/python bench/info_latency.py [--runs 30]``. Prints medians, the ratio and
whether it meets the target (≤ 5×). Interleaving the two commands keeps the ratio honest on
a noisy machine: both see the same load.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_RATIO = 5.0
REQUEST = b'{"method":"info","arguments":[]}'


def cpi_command() -> list[str]:
    script = Path(sys.executable).parent / "cloudstack-cpi"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cpi_framework"]


def timed(args: list[str], stdin: bytes = b"") -> float:
    start = time.perf_counter()
    subprocess.run(args, input=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def measure(runs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "cpi.json"
        config.write_text(json.dumps({"cloudstack": {
            "endpoint": "http://127.0.0.1:9/client/api", "api_key": "k", "secret_access_key": "s",
            "default_zone": "z"}}))
        info = cpi_command() + ["--config", str(config)]
        bare = [sys.executable, "-c", "pass"]
        timed(bare), timed(info, REQUEST)  # warm the page cache
        bare_times, info_times = [], []
        for _ in range(runs):
            bare_times.append(timed(bare))
            info_times.append(timed(info, REQUEST))
    bare_median, info_median = statistics.median(bare_times), statistics.median(info_times)
    return {"runs": runs, "python_c_pass_ms": bare_median * 1000, "info_ms": info_median * 1000,
            "ratio": info_median / bare_median}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = measure(args.runs)
    result["target_ratio"] = TARGET_RATIO
    result["meets_target"] = result["ratio"] <= TARGET_RATIO
    if args.json:
        print(json.dumps(result))
    else:
        print(f"python -c pass   {result['python_c_pass_ms']:7.1f} ms (median of {args.runs})")
        print(f"cloudstack-cpi info {result['info_ms']:7.1f} ms")
        print(f"ratio            {result['ratio']:7.2f}x  (target <= {TARGET_RATIO}x: "
              f"{'met' if result['meets_target'] else 'NOT met'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
