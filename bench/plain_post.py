"""The baseline client of ``upload.py``: one plain streaming multipart POST, standard library only.

Reads ``{"url", "path", "filename", "headers"}`` as JSON on stdin and POSTs the file as one
multipart part in 1 MiB reads with an exact Content-Length - the least any streaming client
must do. It imports nothing from the project, so its memory is a bare interpreter's.
"""

from __future__ import annotations

import http.client
import json
import socket
import sys
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CHUNK = 1 << 20


def plain_post(spec: dict[str, Any]) -> int:
    url = urlsplit(spec["url"])
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{spec['filename']}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = Path(spec["path"]).stat().st_size
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
    conn.connect()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as urllib3 (so requests) does
    conn.putrequest("POST", url.path)
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(len(head) + size + len(tail)))
    for name, value in spec["headers"].items():
        conn.putheader(name, value)
    conn.endheaders()
    conn.send(head)
    with open(spec["path"], "rb", buffering=0) as stream:
        while chunk := stream.read(CHUNK):
            conn.send(chunk)
    conn.send(tail)
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        print(f"plain POST answered {response.status}: {body[:200]!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(plain_post(json.load(sys.stdin)))
