"""Stemcell upload: the CPI's streamed direct upload against a plain streaming POST, and its peak RSS.

Run: ``.venv/bin/python bench/upload.py [--quick | --smoke] [--json]``.

Both clients are separate processes posting the same sparse image to the same simulator
upload endpoint, alternating (after one unmeasured warm-up pass), and are timed by the same
clock: the server-side ``elapsed`` of the ``upload`` request in the simulator's log (headers
received -> answer written), so process start-up and the CPI's API calls do not blur the transfer rate.

* CPI: ``create_stemcell`` in direct mode through the real ``cloudstack-cpi`` process;
* plain: a minimal ``http.client`` POST of the same multipart body in 1 MiB reads
  (``plain_post.py``, standard library only, its spec on stdin).

**End to end** (issue 18: "0.64x a plain curl streaming POST"): the whole ``create_stemcell``
process (start-up, its CloudStack requests, the upload, readiness, exit) against the whole
``curl -F file=@image`` process posting the same image to upload parameters fetched beforehand:
``curl wall / create_stemcell wall``, target >= 0.8, beside the requests ``create_stemcell``
made and their minimum (docs/performance.md, *create_stemcell*). Without ``curl`` the row says so.

``create_stemcell`` runs as every benchmark's CPI does (``common.call_cpi``): from the release-style
install ``main`` sets up (``common.RELEASE_LIB``: compiled, the release's wrapper) except in
``--smoke`` runs. Peak RSS is the CPI process's own VmHWM (``common.HWM_HOOK``) for a small image
and for 1 GiB and 4 GiB sparse images (4 GiB in the full run only). Target:
>= 0.8x the plain rate; RSS < 100 MiB and flat in the image size.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

from common import (
    GiB,
    MiB,
    Result,
    call_cpi,
    main,
    median,
    must,
    python_with_hook,
    run_measured,
    scratch_dir,
)
from lifecycle import STEMCELL_PROPS, sparse_image

from cloudstack_simulator import Simulator
from cpi_framework.cloudstack import ClientSettings, CloudStackClient
from cpi_framework.testing import make_cpi_config

SIZES = {"smoke": 16 * MiB, "quick": 1 * GiB, "full": 1 * GiB}
ROUNDS = {"smoke": 1, "quick": 2, "full": 3}
RSS_SIZES = {"smoke": (), "quick": (), "full": (4 * GiB,)}
"""Extra create_stemcell runs for peak RSS only (the throughput size is measured anyway)."""
SMALL = 8 * MiB
RATE_TARGET = 0.8
END_TO_END_TARGET = 0.8
MIN_REQUESTS = 6
"""create_stemcell, one zone, direct upload (docs/performance.md): listOsTypes, listZones,
getUploadParamsForTemplate, createTags (its job confirmed by the readiness answer), the upload
POST, listTemplates (ready on the first look in the simulator)."""
RSS_LIMIT = 100 * MiB
PLAIN_POST = Path(__file__).resolve().parent / "plain_post.py"


class Uploads:
    """One simulator, one image; each method returns the server-side seconds of one upload."""

    def __init__(self, sim: Any, tmp: Path) -> None:
        self.sim = sim
        self.config = make_cpi_config(sim, "xen", tmp)
        self.client = CloudStackClient(ClientSettings(endpoint=sim.endpoint, api_key=sim.api_key,
                                                      secret_key=sim.secret_key, job_timeout=30))
        inventory = sim.inventory()
        self.zone_id = next(z["id"] for z in inventory["zones"] if z["name"] == "zone-xen")
        self.os_type_id = self.client.list("listOsTypes", {"description": "Other PV (64-bit)"})[0]["id"]

    def _upload_entry(self, mark: int) -> dict[str, Any]:
        uploads = [e for e in self.sim.request_log()[mark:] if e["command"] == "upload"]
        if len(uploads) != 1 or uploads[0]["status"] != 200:
            raise RuntimeError(f"expected one successful upload, got {uploads}")
        return uploads[0]

    def _params(self, name: str) -> dict[str, Any]:
        answer = self.client.call("getUploadParamsForTemplate", {
            "name": f"{name}-{uuid.uuid4().hex[:8]}", "displaytext": f"bench {name}", "format": "VHD",
            "hypervisor": "XenServer", "ostypeid": self.os_type_id, "zoneid": self.zone_id})
        return answer.get("getuploadparams", answer)

    @staticmethod
    def _headers(params: dict[str, Any]) -> dict[str, str]:
        return {"X-signature": str(params["signature"]), "X-metadata": str(params["metadata"]),
                "X-expires": str(params["expires"])}

    def plain(self, image: Path) -> dict[str, Any]:
        params = self._params("plain")
        spec = {"url": params["postURL"], "path": str(image), "filename": "root.vhd", "headers": self._headers(params)}
        mark = len(self.sim.request_log())
        measured = run_measured(python_with_hook(PLAIN_POST), json.dumps(spec).encode(), timeout=900)
        if measured.returncode != 0:
            raise RuntimeError(f"plain POST failed: {measured.stderr[-500:]}")
        return {"seconds": self._upload_entry(mark)["elapsed"], "rss": measured.maxrss, "wall": measured.wall}

    def curl(self, image: Path) -> dict[str, Any]:
        """``curl -F`` streaming the image, as an operator would by hand: the whole process's wall time."""
        params = self._params("curl")
        args = [CURL, "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-F", f"file=@{image};filename=root.vhd"]
        for name, value in self._headers(params).items():
            args += ["-H", f"{name}: {value}"]
        mark = len(self.sim.request_log())
        measured = run_measured([*args, params["postURL"]], timeout=900)
        if measured.returncode != 0 or measured.stdout.strip() != "200":
            raise RuntimeError(f"curl POST failed: {measured.stdout} {measured.stderr[-500:]}")
        return {"seconds": self._upload_entry(mark)["elapsed"], "wall": measured.wall}

    def cpi(self, image: Path) -> dict[str, Any]:
        mark = len(self.sim.request_log())
        call = call_cpi(self.config, "create_stemcell", str(image), STEMCELL_PROPS, sim=self.sim, timeout=900)
        cid = must(call)
        seconds = self._upload_entry(mark)["elapsed"]
        must(call_cpi(self.config, "delete_stemcell", cid, sim=self.sim))
        return {"seconds": seconds, "rss": call.measured.maxrss, "wall": call.measured.wall,
                "cpu": call.measured.cpu, "requests": call.commands}


CURL = shutil.which("curl")


def run(level: str) -> Result:
    result = Result("upload")
    size = SIZES[level]
    plain: list[dict[str, Any]] = []
    cpi: list[dict[str, Any]] = []
    curl: list[dict[str, Any]] = []
    rss: dict[int, int] = {}
    with scratch_dir() as tmp, Simulator() as sim:
        uploads = Uploads(sim, Path(tmp))
        image = sparse_image(Path(tmp), size)
        uploads.plain(image)  # warm-up: the first pass over a fresh image is several times slower for anyone
        clients = [(uploads.cpi, cpi), (uploads.plain, plain)] + ([(uploads.curl, curl)] if CURL else [])
        for n in range(ROUNDS[level]):
            for which, into in clients[n % len(clients):] + clients[:n % len(clients)]:  # rotate the order
                into.append(which(image))
        rss[size] = max(c["rss"] for c in cpi)
        for extra in (SMALL, *RSS_SIZES[level]):
            rss[extra] = uploads.cpi(sparse_image(Path(tmp), extra, f"image-{extra}"))["rss"]
    plain_rate = size / median(p["seconds"] for p in plain)
    cpi_rate = size / median(c["seconds"] for c in cpi)
    ratio = cpi_rate / plain_rate
    label = f"{size // GiB} GiB" if size >= GiB else f"{size // MiB} MiB"
    result.add(f"CPI / plain POST rate ({size // MiB} MiB)", ratio, "x", f">= {RATE_TARGET}", ratio >= RATE_TARGET,
               f"{cpi_rate / MiB:.0f} vs {plain_rate / MiB:.0f} MiB/s")
    cpi_wall = median(c["wall"] for c in cpi)
    if curl:
        curl_wall = median(c["wall"] for c in curl)
        e2e = curl_wall / cpi_wall
        result.add(f"end to end: curl / create_stemcell ({label})", e2e, "x", f">= {END_TO_END_TARGET}",
                   e2e >= END_TO_END_TARGET, f"create_stemcell {cpi_wall:.2f} s vs curl -F {curl_wall:.2f} s; "
                   f"fixed costs {cpi_wall - median(c['seconds'] for c in cpi):.2f} s")
    else:
        result.add(f"end to end: curl / create_stemcell ({label})", "n/a", note="curl is not installed")
    requests = min(len(c["requests"]) for c in cpi)
    result.add("create_stemcell requests (one zone)", requests, "", f"min {MIN_REQUESTS}", requests <= MIN_REQUESTS,
               ", ".join(cpi[0]["requests"]))
    result.add("create_stemcell wall", cpi_wall, "s",
               note=f"CPU {median(c['cpu'] for c in cpi):.1f} s; plain POST process RSS "
                    f"{max(p['rss'] for p in plain) / MiB:.0f} MiB")
    base = rss[SMALL]
    for image_size in sorted(rss):
        peak = rss[image_size]
        label = f"{image_size // GiB} GiB" if image_size >= GiB else f"{image_size // MiB} MiB"
        met = peak < RSS_LIMIT if image_size == SMALL else (peak < RSS_LIMIT and peak - base < 10 * MiB)
        result.add(f"create_stemcell peak RSS, {label} image", peak / MiB, "MiB", "< 100 MiB, flat", met,
                   "" if image_size == SMALL else f"{(peak - base) / MiB:+.1f} MiB vs {SMALL // MiB} MiB image")
    result.details = {"size": size, "plain": plain, "cpi": cpi, "curl": curl,
                      "rss": {str(k): v for k, v in rss.items()}}
    return result


if __name__ == "__main__":
    raise SystemExit(main(run, __doc__.splitlines()[0]))
