"""``cloudstack-cpi stemcell upload STEMCELL.tgz``: register a stemcell tarball without a director.

The tarball is read as a stream (``tarfile`` mode ``r|*``): ``stemcell.MF`` is parsed with
PyYAML and the ``image`` member is copied, in 1 MiB chunks, to a temporary directory — the
disk holds the tarball and one image, never an unpacked copy of everything. Then
``create_stemcell(<tmp>/image, <stemcell.MF cloud_properties>)`` runs through the real RPC
path (:class:`~cpi_framework.dispatch.Dispatcher`, the code ``cloudstack-cpi --config`` runs),
exactly as the director calls it with the image it extracted. A progress bar is drawn on a
terminal; elsewhere a few plain lines for uploads that take a while (none for a quick one). The
CID goes to stdout.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import shutil
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from typing import IO, Any

from cpi_framework.tools.common import EXIT_FAILED, EXIT_OK, ToolError, common_options, make_parser, run_tool

CHUNK = 1 << 20
MAX_MANIFEST = 1 << 20

EPILOG = """\
The image is extracted next to nothing else: only stemcell.MF and image are read from the
tarball (use --tmpdir to pick the disk that holds the image while it uploads; it is removed
afterwards). Light stemcells (cloud_properties light_template/template_id/template_name)
upload nothing and print a '<template id> light' CID.

Examples:
  cloudstack-cpi stemcell upload bosh-stemcell-1.181-cloudstack-xen-ubuntu-jammy-go_agent.tgz --config cpi.json
  cloudstack-cpi stemcell upload stemcell.tgz --config cpi.json --tag team=platform --json

Exit status: 0 when the stemcell is registered, 1 when the CPI reports an error, 2 on a
usage or config error or an unreadable tarball."""


def main(argv: list[str] | None = None) -> int:
    parser = make_parser("stemcell", "Stemcell operations.", epilog=None)
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    upload = sub.add_parser(
        "upload", parents=[common_options()], help="upload a stemcell tarball (create_stemcell) with progress",
        description="Register a stemcell tarball in CloudStack via create_stemcell, with progress.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    upload.add_argument("tarball", metavar="STEMCELL.tgz", help="the stemcell tarball (as downloaded from bosh.io)")
    upload.add_argument("--director-uuid", metavar="UUID",
                        help="tag the template with this director's UUID (as the director would)")
    upload.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE",
                        help="extra template tag (repeatable; sent as CPI API v3 tags)")
    upload.add_argument("--tmpdir", metavar="DIR", help="where the image is extracted (default: system temp dir)")
    args = parser.parse_args(argv)
    if args.action != "upload":
        parser.error("missing ACTION: upload")
    return run_tool(lambda: upload_command(args))


# -- tarball -----------------------------------------------------------------------------------


@dataclass
class Stemcell:
    manifest: dict[str, Any]
    image_path: str
    image_size: int

    @property
    def name(self) -> str:
        return str(self.manifest.get("name") or "?")

    @property
    def version(self) -> str:
        return str(self.manifest.get("version") or "?")

    @property
    def cloud_properties(self) -> dict[str, Any]:
        props = dict(self.manifest.get("cloud_properties") or {})
        props.setdefault("name", self.manifest.get("name"))
        props.setdefault("version", self.manifest.get("version"))
        return {k: v for k, v in props.items() if v is not None}


class _Counting(io.RawIOBase):
    """A read-only file wrapper counting bytes read (extraction progress over the compressed size)."""

    def __init__(self, stream: IO[bytes], on_read: Any) -> None:
        self.stream, self.on_read, self.position = stream, on_read, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        self.position += len(data)
        self.on_read(self.position)
        return len(data)


def extract_stemcell(tarball: str, workdir: str, progress: Progress | None = None) -> Stemcell:
    """Stream ``stemcell.MF`` and ``image`` out of the tarball into ``workdir``.

    :raises ToolError: unreadable tarball, no ``stemcell.MF``, a manifest that is not a mapping.
    """
    import yaml

    total = os.path.getsize(tarball)
    manifest: dict[str, Any] | None = None
    image_path, image_size = os.path.join(workdir, "image"), -1
    on_read = (lambda done: progress.update("Extracting image", done, total)) if progress else (lambda done: None)
    try:
        with open(tarball, "rb") as raw, tarfile.open(fileobj=_Counting(raw, on_read), mode="r|*") as tar:
            for member in tar:
                name = os.path.normpath(member.name)
                if name == "stemcell.MF" and member.isfile():
                    if member.size > MAX_MANIFEST:
                        raise ToolError(f"{tarball}: stemcell.MF is larger than {MAX_MANIFEST} bytes")
                    source = tar.extractfile(member)
                    manifest = yaml.safe_load(source.read()) if source else None
                    if not isinstance(manifest, dict):
                        raise ToolError(f"{tarball}: stemcell.MF is not a YAML mapping")
                elif name == "image" and member.isfile():
                    source = tar.extractfile(member)
                    with open(image_path, "wb") as out:
                        image_size = _copy(source, out) if source else 0
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ToolError(f"cannot read stemcell tarball {tarball}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ToolError(f"{tarball}: stemcell.MF is not valid YAML: {exc}") from exc
    if manifest is None:
        raise ToolError(f"{tarball} has no stemcell.MF; is it a BOSH stemcell tarball?")
    if image_size < 0:
        open(image_path, "wb").close()  # light stemcells may ship no image at all
        image_size = 0
    if not isinstance(manifest.get("cloud_properties") or {}, dict):
        raise ToolError(f"{tarball}: stemcell.MF cloud_properties must be a mapping")
    return Stemcell(manifest, image_path, image_size)


def check_tarball(tarball: str) -> None:
    """Read the first member header, so a file that is no (compressed) tar fails before any progress."""
    try:
        with tarfile.open(tarball, mode="r|*") as tar:
            if tar.next() is None:
                raise ToolError(f"{tarball} is an empty tar archive; is it a BOSH stemcell tarball?")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ToolError(f"cannot read stemcell tarball {tarball}: {exc}") from exc


def _copy(source: IO[bytes], out: IO[bytes]) -> int:
    size = 0
    while chunk := source.read(CHUNK):
        out.write(chunk)
        size += len(chunk)
    return size


# -- progress ----------------------------------------------------------------------------------


class Progress:
    """A one-line progress bar on a terminal; elsewhere (a log file, CI) a few plain lines.

    Plain lines are throttled by time and size: none for a phase that ends within
    ``QUIET_SECONDS`` (a small image needs no progress report), then one per ``PLAIN_PERCENT``
    of progress at most every ``PLAIN_SECONDS`` and at least every ``PLAIN_MAX_SECONDS``, and a
    closing 100 % line only after earlier ones. A rate is shown once ``RATE_SECONDS`` have passed:
    bytes over a few milliseconds are no rate ("476.8 GiB/s").
    """

    QUIET_SECONDS, PLAIN_PERCENT, PLAIN_SECONDS, PLAIN_MAX_SECONDS, RATE_SECONDS = 2.0, 10.0, 5.0, 30.0, 0.5

    def __init__(self, stream: IO[str], tty: bool | None = None, *, clock: Any = time.monotonic) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.clock = clock
        self.phase: str | None = None
        self.phase_started = 0.0
        self._drawn = 0.0
        self._line = ""
        self._last_percent = -100.0
        self._lines = 0

    def update(self, what: str, done: int, total: int, rate: float | None = None) -> None:
        now = self.clock()
        if what != self.phase:
            self.finish()
            self.phase, self.phase_started, self._last_percent, self._drawn = what, now, -100.0, now
            self._lines = 0
        elapsed = now - self.phase_started
        if elapsed < self.RATE_SECONDS:
            rate = None
        elif rate is None:
            rate = done / elapsed
        percent = 100.0 * done / total if total else 100.0
        finished = done >= total
        if self.tty:
            if now - self._drawn >= 0.1 or finished or not self._line:
                self._drawn = now
                self._line = _bar_line(what, percent, done, total, rate, self._width())
                self.stream.write("\r" + self._line)
                self.stream.flush()
            return
        if finished:
            due = self._lines > 0 and self._last_percent < 100
        elif elapsed < self.QUIET_SECONDS:
            due = False
        else:
            due = ((percent - self._last_percent >= self.PLAIN_PERCENT and now - self._drawn >= self.PLAIN_SECONDS)
                   or now - self._drawn >= self.PLAIN_MAX_SECONDS or self._lines == 0)
        if due:
            self._last_percent, self._drawn, self._lines = percent, now, self._lines + 1
            speed = f" at {_size(rate)}/s" if rate is not None else ""
            self.stream.write(f"{what}: {percent:.0f}% ({_size(done)} of {_size(total)}){speed}\n")
            self.stream.flush()

    def write(self, text: str) -> int:
        """Log lines: printed above the bar, which is then redrawn."""
        if self.tty and self._line:
            self.stream.write("\r" + " " * len(self._line) + "\r")
        self.stream.write(text)
        if self.tty and self._line and text.endswith("\n"):
            self.stream.write(self._line)
        self.stream.flush()
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def finish(self) -> None:
        if self.tty and self._line:
            self.stream.write("\n")
            self.stream.flush()
        self._line = ""
        self.phase = None

    def _width(self) -> int:
        return max(shutil.get_terminal_size((100, 20)).columns - 1, 40)


def _bar_line(what: str, percent: float, done: int, total: int, rate: float | None, width: int) -> str:
    tail = f" {percent:5.1f}% {_size(done)}/{_size(total)}" + (f" {_size(rate)}/s" if rate is not None else "")
    label = what[:40]
    bar_width = max(width - len(label) - len(tail) - 3, 10)
    filled = int(bar_width * min(percent, 100) / 100)
    return f"{label} [{'#' * filled}{'.' * (bar_width - filled)}]{tail}"


def _size(value: float) -> str:
    from cpi_framework.services.upload import human_size

    return human_size(value)


class _ProgressHandler(logging.Handler):
    """Turns the upload's fine-grained progress records into progress bar updates."""

    def __init__(self, progress: Progress) -> None:
        from cpi_framework.services.upload import PROGRESS_LEVEL

        super().__init__(PROGRESS_LEVEL)
        self.progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        info = getattr(record, "upload_progress", None)
        if isinstance(info, dict):
            self.progress.update(str(info["what"]), int(info["sent"]), int(info["total"]), float(info["rate"]))


# -- the command -------------------------------------------------------------------------------


def _parse_tags(values: list[str]) -> dict[str, str]:
    tags = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ToolError(f"--tag needs KEY=VALUE, got '{item}'")
        tags[key] = value
    return tags


def build_request(stemcell: Stemcell, director_uuid: str | None, tags: dict[str, str]) -> dict[str, Any]:
    arguments: list[Any] = [stemcell.image_path, stemcell.cloud_properties]
    request: dict[str, Any] = {"method": "create_stemcell", "arguments": arguments, "api_version": 2,
                               "context": {"director_uuid": director_uuid} if director_uuid else {}}
    if tags:
        arguments.append({"tags": tags})
        request["api_version"] = 3
    return request


def run_create_stemcell(config: str, request: dict[str, Any], progress: Progress, verbose: bool) -> dict[str, Any]:
    """``create_stemcell`` through the RPC dispatcher, with the upload's progress on ``progress``."""
    from cpi_framework.dispatch import Dispatcher
    from cpi_framework.logs import LOGGER_NAME
    from cpi_framework.services.upload import PROGRESS_LEVEL

    saved_err, saved_out = sys.stderr, sys.stdout
    sys.stderr = progress if verbose else io.StringIO()  # type: ignore[assignment]  # the call log's stderr copy
    try:
        dispatcher = Dispatcher(config)
    finally:
        sys.stderr = saved_err
    logger = logging.getLogger(LOGGER_NAME)
    handler = _ProgressHandler(progress)
    logger.addHandler(handler)
    logger.setLevel(PROGRESS_LEVEL)
    sys.stdout = sys.stderr  # as in the RPC: nothing but our result reaches stdout
    try:
        return dispatcher.handle(json.dumps(request))
    finally:
        sys.stdout = saved_out
        logger.removeHandler(handler)
        logger.setLevel(logging.DEBUG)
        progress.finish()


def upload_command(args: argparse.Namespace) -> int:
    if not os.path.isfile(args.tarball):
        raise ToolError(f"no such stemcell tarball: {args.tarball}")
    from cpi_framework.config import load_config

    load_config(args.config)  # a config error: one line and exit 2 before anything is read or uploaded
    tags = _parse_tags(args.tag)
    check_tarball(args.tarball)
    progress = Progress(sys.stderr)
    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="cpi-stemcell-", dir=args.tmpdir)
    try:
        stemcell = extract_stemcell(args.tarball, workdir, progress)
        progress.finish()
        sys.stderr.write(f"Stemcell {stemcell.name}/{stemcell.version}: image {_size(stemcell.image_size)}\n")
        reply = run_create_stemcell(args.config, build_request(stemcell, args.director_uuid, tags), progress,
                                    args.verbose)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    seconds = time.monotonic() - started
    error = reply.get("error")
    if args.json:
        summary = {"cid": reply.get("result"), "error": error, "name": stemcell.name, "version": stemcell.version,
                   "image_bytes": stemcell.image_size, "seconds": round(seconds, 3)}
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    if error:
        sys.stderr.write(f"error: {error.get('type')}: {error.get('message')}\n")
        if not args.verbose:
            sys.stderr.write("(run with --verbose for the CPI log)\n")
        return EXIT_FAILED
    if not args.json:
        sys.stdout.write(f"{reply['result']}\n")
    sys.stderr.write(f"Stemcell {stemcell.name}/{stemcell.version} registered in {seconds:.1f}s\n")
    return EXIT_OK
