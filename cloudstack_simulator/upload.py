"""The direct-upload endpoint (``postURL``), modelled on the SSVM's upload server.

The SSVM is another host than the management server: the simulator serves this endpoint on
its own listener (:mod:`.simulator`), with its own certificate when given one. The checks, in
the SSVM's order (``HttpUploadServerHandler.channelRead0`` →
``NfsSecondaryStorageResource.validatePostUploadRequest`` → ``createUploadEntity``; read in
apache/cloudstack main, 2024-2025, and the 4.x copy with ``useHttpsToUpload``):

1. ``X-signature``/``X-metadata``/``X-expires`` present ("… are compulsory fields."), then a
   ``Content-Length`` above 0 (a chunked request has none);
2. the signature over ``metadata + <proto>://<Host>/upload/<id> + expires`` (the real SSVM
   reads the host from ``X-Forwarded-Host``, set by its Apache front from the client's
   ``Host``), then ``expires`` not passed ("request not valid anymore.");
3. the URL not used before ("The one time post url is already used …"), the Content-Length
   in GB (rounded up) within the metadata's ``maxUploadSize`` (``templates.max_upload_size_gb``;
   that the management server fills it from ``max.template.iso.size`` is from memory of
   ``HypervisorTemplateAdapter.createTemplateForPostUpload``, not re-read in its source);
4. a ``multipart/form-data`` body whose first file part is the image; its name and magic bytes
   fit the format (``ImageStoreUtil.checkTemplateFormat``); a ``checksum`` given to
   ``getUploadParamsForTemplate`` must match what was sent (``createtmplt.sh verify_cksum``:
   the algorithm follows the hex length, 32 = MD5 … 128 = SHA-512), else HTTP 500.

The image is streamed through a byte counter and SHA-256: memory use is bounded by one read
chunk and nothing is written to disk, whatever the image size.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import time
from collections.abc import Callable
from typing import IO, Any

from .commands.templates import mark_error, mark_installed, suffix_ok, upload_signature
from .faults import Faults
from .state import State

CHUNK = 1 << 20
MAX_HEADER = 16 * 1024
_FILENAME = re.compile(r'filename\*?="?([^";]*)"?', re.I)


class MultipartError(ValueError):
    """Malformed multipart body."""


class MultipartStream:
    """Incremental ``multipart/form-data`` parser holding at most one chunk plus a boundary."""

    def __init__(self, boundary: bytes, on_start: Callable[[dict[str, str]], None],
                 on_data: Callable[[bytes], None], on_end: Callable[[], None]) -> None:
        self.first = b"--" + boundary
        self.delim = b"\r\n--" + boundary
        self.on_start, self.on_data, self.on_end = on_start, on_data, on_end
        self.buf = b""
        self.state = "preamble"

    def feed(self, data: bytes) -> None:
        self.buf += data
        while True:
            if self.state == "preamble":
                i = self.buf.find(self.first)
                if i < 0:
                    self.buf = self.buf[-len(self.first):]
                    return
                self.buf = self.buf[i + len(self.first):]
                self.state = "after-boundary"
            elif self.state == "after-boundary":
                if len(self.buf) < 2:
                    return
                if self.buf.startswith(b"--"):
                    self.state, self.buf = "done", b""
                    return
                if not self.buf.startswith(b"\r\n"):
                    raise MultipartError("bad boundary line")
                self.buf, self.state = self.buf[2:], "headers"
            elif self.state == "headers":
                i = self.buf.find(b"\r\n\r\n")
                if i < 0:
                    if len(self.buf) > MAX_HEADER:
                        raise MultipartError("part headers too long")
                    return
                headers = {}
                for line in self.buf[:i].decode("utf-8", "replace").split("\r\n"):
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                self.buf, self.state = self.buf[i + 4:], "body"
                self.on_start(headers)
            elif self.state == "body":
                i = self.buf.find(self.delim)
                if i < 0:
                    keep = len(self.delim) - 1
                    if len(self.buf) > keep:
                        self.on_data(self.buf[:-keep])
                        self.buf = self.buf[-keep:]
                    return
                if i:
                    self.on_data(self.buf[:i])
                self.on_end()
                self.buf, self.state = self.buf[i + len(self.delim):], "after-boundary"
            else:  # done: ignore the epilogue
                self.buf = b""
                return

    @property
    def complete(self) -> bool:
        return self.state == "done"


def handle_upload(st: State, faults: Faults, template_id: str, headers: Any, rfile: IO[bytes],
                  scheme: str) -> tuple[int, str]:
    """Process one upload POST; returns ``(http_status, text/plain body)``."""
    with st.lock:
        tpl = st.get("template", template_id)
        info = dict(tpl.upload) if tpl is not None else {}
        state = tpl.state if tpl is not None else None
        ready_delay = float(st.cfg["templates"]["ready_delay"])
        check_content = bool(st.cfg["templates"]["check_content"])
        max_gb = int(st.cfg["templates"]["max_upload_size_gb"])
    signature, metadata, expires = (headers.get("X-signature"), headers.get("X-metadata"),
                                    headers.get("X-expires"))
    if not signature or not metadata or not expires:
        return 400, "signature, metadata and expires are compulsory fields."
    try:
        length = int(headers.get("Content-Length") or "0")
    except ValueError:
        length = 0
    if length <= 0 or "chunked" in (headers.get("Transfer-Encoding") or "").lower():
        # NfsSecondaryStorageResource.validatePostUploadRequest: checked before the signature
        return 400, "content length is not set in the request or has invalid value."
    if tpl is None or "metadata" not in info:
        return 400, "signature validation failed."
    url = f"{scheme}://{headers.get('Host', '')}/upload/{template_id}"
    expected = upload_signature(st.upload_key, metadata, url, expires)
    if not hmac.compare_digest(expected, signature) or metadata != info["metadata"] or expires != info["expires"]:
        return 400, "signature validation failed."
    if time.time() > info["expires_at"]:
        return 400, "request not valid anymore."
    if state != "NotUploaded":
        # createUploadEntity → isOneTimePostUrlUsed; the state is UploadEntity.Status
        return 400, f"The one time post url is already used and the upload is in {_entity_status(state)} state."
    length_gb = math.ceil(length / 2**30)  # NfsSecondaryStorageResource.getSizeInGB
    if length_gb > max_gb:
        text = (f"Maximum file upload size exceeded. Content Length received: {length_gb}GB. Maximum allowed "
                f"size: {max_gb}GB.")
        with st.lock:
            tpl.state = "UploadError"
            mark_error(tpl, text, "UPLOAD_ERROR")
        _drain(rfile, length)
        return 400, text
    m = re.search(r'boundary="?([^";]+)"?', headers.get("Content-Type") or "")
    if "multipart/form-data" not in (headers.get("Content-Type") or "").lower() or not m:
        _drain(rfile, length)
        return 400, "Unable to parse the request: Content-Type must be multipart/form-data with a boundary"
    with st.lock:
        tpl.state, tpl.status, tpl.download_state = "UploadInProgress", "Upload in progress", "UPLOAD_IN_PROGRESS"
    return _receive(st, faults, tpl, rfile, length, m.group(1).encode(), ready_delay, check_content)


def _entity_status(state: str | None) -> str:
    """The SSVM's ``UploadEntity.Status`` for a template state."""
    return {"UploadInProgress": "IN_PROGRESS", "UploadError": "ERROR", "UploadAbandoned": "ABANDONED"}.get(
        state or "", "COMPLETED")


CHECKSUM_ALGORITHMS = {32: "md5", 40: "sha1", 56: "sha224", 64: "sha256", 96: "sha384", 128: "sha512"}
"""``createtmplt.sh verify_cksum``: the digest is chosen by the length of the hex checksum."""


def expected_checksum(checksum: str | None) -> tuple[str, str] | None:
    """``(algorithm, hex)`` the upload is checked against, or None without a checksum.

    A ``{SHA-256}`` style prefix (the API's notation) is dropped; whether the management
    server strips it before handing the checksum to the SSVM was not checked in its source.
    """
    if not checksum:
        return None
    text = re.sub(r"^\{[^}]*\}", "", checksum.strip()).lower()
    return CHECKSUM_ALGORITHMS.get(len(text), ""), text


def _receive(st: State, faults: Faults, tpl: Any, rfile: IO[bytes], length: int, boundary: bytes,
             ready_delay: float, check_content: bool) -> tuple[int, str]:
    sha = hashlib.sha256()
    with st.lock:
        wanted = expected_checksum(tpl.checksum)
    digest = hashlib.new(wanted[0]) if wanted and wanted[0] and wanted[0] != "sha256" else None
    file_part: dict[str, Any] = {"active": False, "done": False, "bytes": 0, "filename": None, "head": b""}

    def on_start(h: dict[str, str]) -> None:
        fn = _FILENAME.search(h.get("content-disposition", ""))
        if fn and not file_part["done"] and file_part["filename"] is None:
            file_part.update(active=True, filename=fn.group(1), content_type=h.get("content-type"))

    def on_data(data: bytes) -> None:
        if file_part["active"]:
            sha.update(data)
            if digest is not None:
                digest.update(data)
            file_part["bytes"] += len(data)
            if len(file_part["head"]) < 512:
                file_part["head"] += data[:512]

    def on_end() -> None:
        if file_part["active"]:
            file_part.update(active=False, done=True)

    parser = MultipartStream(boundary, on_start, on_data, on_end)
    remaining = length
    try:
        while remaining > 0:
            chunk = rfile.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            parser.feed(chunk)
    except MultipartError as err:
        with st.lock:
            mark_error(tpl, f"Upload failed: {err}", "UPLOAD_ERROR")
        return 400, f"Unable to parse the multipart body: {err}"
    if remaining > 0:
        # HttpUploadServerHandler.channelInactive: the connection closed before the request was processed
        with st.lock:
            mark_error(tpl, "file receive failed or connection closed prematurely.", "UPLOAD_ERROR")
            tpl.state = "UploadError"
        return 400, "file receive failed or connection closed prematurely."
    if not file_part["done"]:
        with st.lock:  # HttpUploadServerHandler.readFileUploadData: no FileUpload part in the body
            mark_error(tpl, "received entity is not a file", "UPLOAD_ERROR")
            tpl.state = "UploadError"
        return 422, "received entity is not a file"
    filename = file_part["filename"] or ""
    forced = faults.take_template_error()
    with st.lock:
        tpl.upload.update(bytes=file_part["bytes"], sha256=sha.hexdigest(), filename=filename,
                          content_type=file_part.get("content_type"), source="upload")
        mismatch = not suffix_ok(tpl.format, filename) or (
            check_content and not content_matches(tpl.format, filename, file_part["head"]))
        if mismatch:
            tpl.state = "UploadError"
            mark_error(tpl, "File type mismatch between the sent file and the actual content", "UPLOAD_ERROR")
            return 400, "File type mismatch between the sent file and the actual content"
        if wanted is not None:
            # NfsSecondaryStorageResource.postUpload runs createtmplt.sh -c <checksum>; a failing script's
            # output is the answer, with HTTP 500 (HttpUploadServerHandler.readFileUploadData)
            got = (digest or sha).hexdigest()
            problem = ("Please provide valid checksum" if not wanted[0] else
                       None if hmac.compare_digest(got, wanted[1]) else "Checksum failed, not proceeding with install")
            if problem:
                tpl.state = "UploadError"
                mark_error(tpl, problem, "UPLOAD_ERROR")
                return 500, problem
        tpl.state = "Active"
        if forced:
            mark_error(tpl, forced, "UPLOAD_ERROR")
        else:
            mark_installed(st, tpl, file_part["bytes"], ready_delay)
    return 200, "upload successful."


def content_matches(fmt: str, filename: str, head: bytes) -> bool:
    """Magic-byte sniffing like ``ImageStoreUtil.checkTemplateFormat`` (opt-in)."""
    low = filename.lower()
    if low.endswith(".bz2"):
        return head.startswith(b"BZh")
    if low.endswith(".gz"):
        return head.startswith(b"\x1f\x8b")
    if low.endswith(".zip"):
        return head.startswith(b"PK")
    if fmt == "QCOW2":
        return head.startswith(b"QFI\xfb")
    if fmt == "VHD":
        return head.startswith(b"conectix")  # dynamic VHDs start with a copy of the footer
    if fmt == "OVA":
        return len(head) >= 262 and head[257:262] == b"ustar"
    return True


def _drain(rfile: IO[bytes], length: int) -> None:
    while length > 0:
        chunk = rfile.read(min(CHUNK, length))
        if not chunk:
            return
        length -= len(chunk)
