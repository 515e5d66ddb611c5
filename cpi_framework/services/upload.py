"""Streaming multipart upload of a stemcell image to CloudStack's secondary storage.

CloudStack's upload server (``HttpUploadServerHandler`` on the SSVM) needs a real
``Content-Length`` — chunked transfer encoding is refused — and the image can be many GB, so
the body is a :class:`MultipartFile`: an iterable of 1 MiB chunks (preamble, file, epilogue)
whose ``len()`` is computed up front from the file size. The CPI's own HTTP layer
(:mod:`cpi_framework.cloudstack.connection`, ``http.client``) then sends exactly that length with
``Content-Length``, chunk by chunk, never buffering the file: memory stays flat in the image size.

The bytes come from an :class:`ImageSource`: the stemcell's ``image`` file itself, or - when
the plugin names a ``TemplateParams.image_member`` (OpenStack stemcells pack ``root.img`` in a
gzipped tarball) - that member streamed out of the archive, its size taken from the tar header,
with no temporary copy. The short-lived url-mode server (:mod:`.serve`) reads the same sources.

:func:`stream_upload` is also the function ``bench/`` times against a plain streaming POST.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, NamedTuple

from cpi_framework.errors import CloudError

if TYPE_CHECKING:
    import tarfile  # imported where an archive is read: a plain image never needs it (~10 ms, bz2/lzma too)

CHUNK_SIZE = 1 << 20
PROGRESS_LEVEL = 5
"""Level of the fine-grained progress records (below DEBUG, so the call log never holds them);
``cloudstack-cpi stemcell upload`` lowers the ``cpi`` logger to it to draw its progress bar."""

ProgressCallback = Callable[[int, int], None]

_CONTENT_TYPES = {".bz2": "application/x-bzip2", ".gz": "application/gzip", ".zip": "application/zip"}


class UploadFailed(Exception):
    """The upload server refused the file or the connection broke; ``status`` is None for the latter.

    ``transport`` is the connection's :class:`~cpi_framework.cloudstack.connection.HttpFailure` when
    the request itself failed (TLS, connection), for the caller to explain in its own settings'
    terms (:mod:`.upload_host`).
    """

    def __init__(self, message: str, status: int | None = None, transport: BaseException | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.transport = transport


class UploadResult(NamedTuple):
    """What one upload did. (NamedTuples, not frozen dataclasses: ~4x cheaper to define at import,
    and this module is on every ``create_stemcell``'s start-up.)"""

    bytes_sent: int
    """File bytes sent (the image size)."""
    body_bytes: int
    """The whole request body, multipart framing included (= the Content-Length sent)."""
    seconds: float
    status: int
    text: str

    @property
    def rate(self) -> float:
        """Bytes per second of file data."""
        return self.bytes_sent / self.seconds if self.seconds > 0 else float("inf")


def content_type_for(filename: str) -> str:
    return _CONTENT_TYPES.get(os.path.splitext(filename)[1].lower(), "application/octet-stream")


# -- image sources -------------------------------------------------------------------------------

_COMPRESSIONS = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"))
MAX_LINKS = 8


class ImageSource(NamedTuple):
    """The bytes to upload or serve: the whole file at ``path``, or one regular ``member`` of the
    tar archive there (``compression`` as sniffed: ``gzip``, ``bzip2``, ``xz`` or None)."""

    path: str
    size: int
    member: str | None = None
    compression: str | None = None

    @property
    def label(self) -> str:
        return f"'{self.member}' in {self.path}" if self.member else self.path

    @contextmanager
    def open(self, offset: int = 0) -> Iterator[IO[bytes]]:
        """A reader at ``offset``. A member is read by streaming the archive again from its start
        (never seeking in it) and skipping ``offset`` bytes; read at most :attr:`size` bytes."""
        if self.member is None:
            with open(self.path, "rb", buffering=0) as stream:
                stream.seek(offset)
                yield stream
            return
        with _archive(self.path, self.compression) as tar:
            for info in tar:
                if info.isfile() and _member_name(info.name) == self.member:
                    reader = tar.extractfile(info)
                    assert reader is not None  # a regular file always has a reader
                    while offset > 0:
                        skipped = len(reader.read(min(CHUNK_SIZE, offset)))
                        if not skipped:
                            break
                        offset -= skipped
                    yield reader
                    return
        raise CloudError(f"Stemcell image archive {self.path} no longer holds '{self.member}'")


def image_source(path: str, member: str | None = None) -> ImageSource:
    """The image to upload: the file itself, or ``member`` streamed out of the tar archive at ``path``.

    With a ``member``, a gzip/bzip2/xz file must be a tar archive holding that member as a regular
    file (a link is followed to its target); its size comes from the tar header, read by streaming
    the archive up to that member. An uncompressed file that is not a tar archive at all (a bare
    qcow2, say) is taken whole, as the image itself.

    :raises CloudError: not a tar archive, the member is missing or is not a regular file.
    """
    if member is None:
        return ImageSource(path, os.stat(path).st_size)
    with open(path, "rb") as stream:
        head = stream.read(8)
    compression = next((name for magic, name in _COMPRESSIONS if head.startswith(magic)), None)
    wanted = _member_name(member)
    try:
        for _ in range(MAX_LINKS):
            info, seen = _find_member(path, compression, wanted)
            if info is None:
                shown = ", ".join(seen[:10]) + (", …" if len(seen) > 10 else "") or "nothing"
                raise CloudError(f"Stemcell image archive {path} has no member '{member}' (it holds {shown})")
            if info.isfile():
                return ImageSource(path, info.size, wanted, compression)
            if not (info.islnk() or info.issym()):
                raise CloudError(f"'{member}' in the stemcell image archive {path} is not a regular file")
            target = info.linkname if info.islnk() else os.path.join(os.path.dirname(wanted), info.linkname)
            wanted = _member_name(target)
        raise CloudError(f"'{member}' in the stemcell image archive {path} is a chain of more than {MAX_LINKS} links")
    except _NotAnArchive as exc:
        if compression is None:
            return ImageSource(path, os.stat(path).st_size)
        raise CloudError(f"Stemcell image {path} is {compression}-compressed but not a tar archive holding "
                         f"'{member}': {exc}") from None
    except CloudError:
        raise
    except Exception as exc:  # a corrupt archive fails in many ways (TarError, EOFError, OSError, LZMAError)
        raise CloudError(f"Cannot read '{member}' from the stemcell image archive {path}: "
                         f"{type(exc).__name__}: {_first_line(exc)}") from None


class _NotAnArchive(Exception):
    """The stream does not start with a tar header."""


def _member_name(name: str) -> str:
    return os.path.normpath(name.replace("\\", "/")).lstrip("/")


@contextmanager
def _archive(path: str, compression: str | None) -> Iterator[tarfile.TarFile]:
    """The archive in tar stream mode (``r|``) over a decompressing file object.

    The gzip/bz2/lzma file objects bound their output per read; tarfile's own ``r|gz``/``r|bz2``
    decompress each 10 KiB read in full, which for a bzip2 stream of zeros is hundreds of MB.
    """
    import tarfile

    with open(path, "rb") as raw, _decompressed(raw, compression) as stream:
        try:
            tar = tarfile.open(fileobj=stream, mode="r|")  # noqa: SIM115 - closed by the with below
        except tarfile.ReadError as exc:
            raise _NotAnArchive(str(exc)) from None
        with tar:
            yield tar


def _decompressed(raw: IO[bytes], compression: str | None) -> IO[bytes]:
    if compression == "gzip":
        import gzip

        return gzip.GzipFile(fileobj=raw, mode="rb")
    if compression == "bzip2":
        import bz2

        return bz2.BZ2File(raw)
    if compression == "xz":
        import lzma

        return lzma.LZMAFile(raw)
    return raw


def _find_member(path: str, compression: str | None, wanted: str) -> tuple[tarfile.TarInfo | None, list[str]]:
    """The first member named ``wanted`` (or None) and the names read before it."""
    seen: list[str] = []
    with _archive(path, compression) as tar:
        for info in tar:
            if _member_name(info.name) == wanted:
                return info, seen
            seen.append(info.name)
    return None, seen


class MultipartFile:
    """A ``multipart/form-data`` body with one file part, produced in chunks, with an exact ``len()``.

    The file's size is taken when the body is built; if the file then shrinks the upload fails
    rather than sending a body shorter than the announced Content-Length.
    """

    def __init__(
        self,
        path: str | ImageSource,
        *,
        filename: str,
        field: str = "file",
        content_type: str | None = None,
        chunk_size: int = CHUNK_SIZE,
        progress: ProgressCallback | None = None,
        boundary: str | None = None,
    ) -> None:
        self.source = path if isinstance(path, ImageSource) else image_source(path)
        self.size = self.source.size
        self.chunk_size = chunk_size
        self.progress = progress
        self.boundary = boundary or f"cpi-{uuid.uuid4().hex}"
        safe_name = filename.replace('"', "").replace("\r", "").replace("\n", "")
        self.preamble = (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="{field}"; filename="{safe_name}"\r\n'
            f"Content-Type: {content_type or content_type_for(filename)}\r\n\r\n"
        ).encode()
        self.epilogue = f"\r\n--{self.boundary}--\r\n".encode()
        self.sent = 0

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self.preamble) + self.size + len(self.epilogue)

    def __iter__(self) -> Iterator[bytes]:
        yield self.preamble
        remaining = self.size
        try:
            with self.source.open() as stream:
                while remaining > 0:
                    chunk = stream.read(min(self.chunk_size, remaining))
                    if not chunk:
                        raise UploadFailed(f"{self.source.label} shrank during the upload ({self.sent} of "
                                           f"{self.size} bytes read)")
                    remaining -= len(chunk)
                    self.sent += len(chunk)
                    if self.progress is not None:
                        self.progress(self.sent, self.size)
                    yield chunk
        except UploadFailed:
            raise
        except Exception as exc:  # any failure to read the image (truncated archive, I/O error) breaks the upload
            raise UploadFailed(f"reading {self.source.label} failed after {self.sent} of {self.size} bytes: "
                               f"{type(exc).__name__}: {_first_line(exc)}") from None
        yield self.epilogue


class ProgressLog:
    """Logs upload progress (percent and rate) every 10 % or 30 s, plus fine-grained records for tools.

    Nothing during the first ``quiet_seconds``: an upload that ends sooner (a small image) gets
    only the caller's closing line, not eleven lines at rates measured over milliseconds.
    """

    def __init__(self, logger: logging.Logger, what: str, *, every_percent: float = 10, every_seconds: float = 30,
                 fine_seconds: float = 0.2, quiet_seconds: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.logger = logger
        self.what = what
        self.every_percent = every_percent
        self.every_seconds = every_seconds
        self.fine_seconds = fine_seconds
        self.clock = clock
        self.quiet_seconds = quiet_seconds
        self._logged = False
        self.started = clock()
        self._last_time = self._last_fine = self.started
        self._last_percent = 0.0

    def __call__(self, sent: int, total: int) -> None:
        now = self.clock()
        percent = 100.0 * sent / total if total else 100.0
        elapsed = max(now - self.started, 1e-9)
        rate = sent / elapsed
        if now - self._last_fine >= self.fine_seconds or sent >= total:
            self._last_fine = now
            self.logger.log(PROGRESS_LEVEL, "%s: %d of %d bytes", self.what, sent, total,
                            extra={"upload_progress": {"sent": sent, "total": total, "rate": rate,
                                                       "what": self.what}})
        due = percent - self._last_percent >= self.every_percent or now - self._last_time >= self.every_seconds
        if now - self.started < self.quiet_seconds:
            due = False
        elif sent >= total:
            due = self._logged  # close what was reported; a quick upload reports nothing
        if due:
            self._last_percent, self._last_time, self._logged = percent, now, True
            self.logger.info("%s: %.0f%% (%s of %s) at %s/s", self.what, percent, human_size(sent),
                             human_size(total), human_size(rate))


def human_size(value: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # pragma: no cover - loop always returns


def stream_upload(
    url: str,
    path: str | ImageSource,
    *,
    filename: str | None = None,
    headers: Mapping[str, str] | None = None,
    field: str = "file",
    content_type: str | None = None,
    verify: bool | str = True,
    proxies: Mapping[str, str] | None = None,
    timeout: tuple[float, float] = (10.0, 300.0),
    progress: ProgressCallback | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> UploadResult:
    """POST ``path`` (a file name or an :class:`ImageSource`) as one multipart file part to ``url``;
    return bytes sent and seconds taken.

    ``headers`` are added verbatim (CloudStack: ``X-signature``, ``X-metadata``, ``X-expires``,
    spelled exactly so). Raises :class:`UploadFailed` on a non-2xx answer or a broken
    connection; the message holds the server's text but never the headers.
    """
    from urllib.parse import urlsplit

    from cpi_framework.cloudstack.connection import Connection, HttpFailure, TlsFailed

    source = path if isinstance(path, ImageSource) else image_source(path)
    default_name = os.path.basename(source.member or source.path)
    body = MultipartFile(source, filename=filename or default_name, field=field,
                         content_type=content_type, chunk_size=chunk_size, progress=progress)
    request_headers = {"Content-Type": body.content_type, "Content-Length": str(len(body))}
    request_headers.update(headers or {})
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    started = time.monotonic()
    failure: UploadFailed | None = None
    try:
        with Connection(url, verify=verify, proxies=proxies, connect_timeout=timeout[0],
                        read_timeout=timeout[1]) as connection:
            response = connection.request("POST", target, body=body, headers=request_headers)
    except TlsFailed as exc:
        failure = UploadFailed(f"the TLS handshake with the upload server {_host(url)} failed", transport=exc)
    except HttpFailure as exc:
        failure = UploadFailed(f"upload to {_host(url)} broke after {body.sent} of {body.size} bytes: "
                               f"{type(exc).__name__}: {_first_line(exc)}", transport=exc)
    if failure is not None:
        raise failure
    seconds = time.monotonic() - started
    text = response.text.strip()
    if not 200 <= response.status < 300:
        raise UploadFailed(f"upload server {_host(url)} answered HTTP {response.status}: "
                           f"{text[:500] or response.reason}", status=response.status)
    return UploadResult(bytes_sent=body.sent, body_bytes=len(body), seconds=seconds,
                        status=response.status, text=text[:500])


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text[:300]
