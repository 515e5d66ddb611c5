"""``registerTemplate``: the "secondary storage VM" downloading the image from its URL.

Runs in a background thread outside the state lock, streaming the body through a byte
counter and SHA-256 (never stored).  Only loopback hosts are allowed (checked at
registration), so tests never reach the network.  Progress shows as ``N% Downloaded``.
"""

from __future__ import annotations

import hashlib
import ssl
import threading
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING

from . import models as m
from .commands.templates import mark_error, mark_installed

if TYPE_CHECKING:
    from .commands import Ctx

CHUNK = 1 << 20
TIMEOUT = 30.0


def start_download(ctx: Ctx, tpl: m.Template, url: str) -> threading.Thread:
    st, faults = ctx.st, ctx.faults
    ready_delay = float(ctx.cfg["templates"]["ready_delay"])
    forced_status = faults.take_template_error()
    thread = threading.Thread(target=_download, args=(st, tpl, url, ready_delay, forced_status),
                              name=f"sim-download-{tpl.id[:8]}", daemon=True)
    thread.start()
    return thread


def _download(st, tpl: m.Template, url: str, ready_delay: float, forced_status: str | None) -> None:  # noqa: ANN001
    # No proxies: the URL is loopback.  Loopback HTTPS is not verified (test CAs vary).
    handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]
    if url.startswith("https:"):
        handlers.append(urllib.request.HTTPSHandler(context=ssl._create_unverified_context()))  # noqa: S323
    opener = urllib.request.build_opener(*handlers)
    sha, count, deadline = hashlib.sha256(), 0, time.monotonic() + 3600
    try:
        with opener.open(url, timeout=TIMEOUT) as resp:
            total = int(resp.headers.get("Content-Length") or 0)
            last = 0.0
            while time.monotonic() < deadline:
                chunk = resp.read(CHUNK)
                if not chunk:
                    break
                sha.update(chunk)
                count += len(chunk)
                if total and time.monotonic() - last > 0.2:
                    last = time.monotonic()
                    with st.lock:
                        tpl.download_state = "DOWNLOAD_IN_PROGRESS"
                        tpl.download_percent = min(99, count * 100 // total)
                        tpl.status = f"{tpl.download_percent}% Downloaded"
    except urllib.error.HTTPError as err:
        with st.lock:
            mark_error(tpl, f"Failed to download template: HTTP Server returned {err.code} (expected 200 OK)")
        return
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        with st.lock:
            mark_error(tpl, f"Failed to download template: {reason}")
        return
    with st.lock:
        tpl.upload.update(bytes=count, sha256=sha.hexdigest(), filename=url.rsplit("/", 1)[-1], source="url")
        if forced_status:
            mark_error(tpl, forced_status)
        else:
            mark_installed(st, tpl, count, ready_delay)
