"""Shared checks of the reliability suite: the director's response schema, cloud-state
fingerprints for leak detection, a secret scanner, and the run's figures for docs/reliability.md.

Kept out of conftest.py so test modules import names explicitly (``from reliability_support
import ...``); the directory is on ``sys.path`` under pytest's default import mode.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from hypothesis import HealthCheck, settings

from cpi_framework.errors import KNOWN_TYPES
from cpi_framework.testing import cpi_command

HEAVY = os.environ.get("CPI_HEAVY_TESTS", "").lower() in {"1", "true", "yes"}
CPI_TIMEOUT = 60.0

# Hypothesis budgets: the fast tier stays within CI minutes; CPI_HEAVY_TESTS=1 searches deeper.
settings.register_profile(
    "reliability-fast", max_examples=60, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
settings.register_profile(
    "reliability-heavy", max_examples=600, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
PROFILE = settings.get_profile("reliability-heavy" if HEAVY else "reliability-fast")


# -- the director's response schema ------------------------------------------------------------


def check_response(document: Any) -> dict[str, Any]:
    """Membrane ``RESPONSE_SCHEMA`` plus our promises: known types, result XOR error."""
    assert isinstance(document, dict), f"response is not an object: {document!r}"
    assert set(document) == {"result", "error", "log"}, f"response keys: {sorted(document)}"
    assert isinstance(document["log"], str), "log must be a string"
    document["log"].encode("utf-8")  # valid UTF-8 (no lone surrogates)
    error = document["error"]
    if error is not None:
        assert document["result"] is None, "an error response must have result null"
        assert isinstance(error, dict) and set(error) == {"type", "message", "ok_to_retry"}, error
        assert error["type"] in KNOWN_TYPES, f"unknown error type {error['type']!r}"
        assert isinstance(error["message"], str) and error["message"].strip(), "empty error message"
        assert isinstance(error["ok_to_retry"], bool)
    return document


def parse_stdout(stdout: bytes) -> dict[str, Any]:
    """Exactly one JSON object and nothing else (not even whitespace beyond JSON's own)."""
    text = stdout.decode("utf-8")  # raises on invalid UTF-8
    decoder = json.JSONDecoder()
    document, end = decoder.raw_decode(text)
    assert not text[end:].strip(), f"extra bytes on stdout after the response: {text[end:end + 200]!r}"
    return check_response(document)


@dataclass
class ProcessResult:
    document: dict[str, Any]
    stderr: str
    seconds: float

    @property
    def error(self) -> dict[str, Any] | None:
        return self.document["error"]

    @property
    def result(self) -> Any:
        return self.document["result"]


def director_env(tmpdir: str | None = None) -> dict[str, str]:
    """Only PATH, HOME and TMPDIR, as the director's ``unsetenv_others`` spawn."""
    return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": os.environ.get("HOME", "/root"),
            "TMPDIR": tmpdir or os.environ.get("TMPDIR", "/tmp")}


def run_raw(config: Path | str, raw: bytes, *, env: dict[str, str] | None = None,
            timeout: float = CPI_TIMEOUT) -> ProcessResult:
    """Run the real CPI with ``raw`` on stdin; exit 0 and one valid response are asserted."""
    started = time.monotonic()
    proc = subprocess.run([*cpi_command(), "--config", str(config)], input=raw, capture_output=True,
                          timeout=timeout, env=env if env is not None else director_env())
    seconds = time.monotonic() - started
    stderr = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0, f"exit {proc.returncode}; stderr: {stderr[-2000:]}"
    return ProcessResult(parse_stdout(proc.stdout), stderr, seconds)


def request(method: str, *args: Any, api_version: int | None = None,
            context: Mapping[str, Any] | None = None) -> bytes:
    from cpi_framework.testing import DIRECTOR_UUID

    body: dict[str, Any] = {"method": method, "arguments": list(args),
                            "context": dict(context) if context is not None else
                            {"director_uuid": DIRECTOR_UUID, "request_id": "cpi-424242"}}
    if api_version is not None:
        body["api_version"] = api_version
    return json.dumps(body).encode()


def call(config: Path | str, method: str, *args: Any, api_version: int | None = 2,
         env: dict[str, str] | None = None, timeout: float = CPI_TIMEOUT) -> ProcessResult:
    """One director-style call through the real process (api_version 2 unless told)."""
    return run_raw(config, request(method, *args, api_version=api_version), env=env, timeout=timeout)


# -- cloud state: what a failed call must not change ------------------------------------------

_STATE_KEYS = ("state", "isready", "status", "virtualmachineid", "isstaticnat", "deviceid", "size")
_SKIP_KINDS = {"jobs"}


def fingerprint(inventory: Mapping[str, Any]) -> dict[str, frozenset[tuple[Any, ...]]]:
    """Every live object by kind as (id, state-ish fields); jobs are history, not state."""
    out: dict[str, frozenset[tuple[Any, ...]]] = {}
    for kind, objects in inventory.items():
        if kind in _SKIP_KINDS or not isinstance(objects, list):
            continue
        rows = set()
        for obj in objects:
            if kind == "tags":
                rows.add((obj.get("resourceid"), obj.get("key"), obj.get("value")))
            else:
                rows.add((obj.get("id"), *(json.dumps(obj.get(k), sort_keys=True) for k in _STATE_KEYS)))
        out[kind] = frozenset(rows)
    return out


def diff(before: Mapping[str, frozenset], after: Mapping[str, frozenset]) -> dict[str, dict[str, list]]:
    """Kinds whose objects differ: ``{"volumes": {"added": [...], "removed": [...]}}``."""
    changes: dict[str, dict[str, list]] = {}
    for kind in sorted(set(before) | set(after)):
        old, new = before.get(kind, frozenset()), after.get(kind, frozenset())
        if old != new:
            changes[kind] = {"added": sorted(map(str, new - old)), "removed": sorted(map(str, old - new))}
    return changes


def owned(inventory: Mapping[str, Any], kind: str) -> list[dict[str, Any]]:
    """Objects of ``kind`` carrying the CPI's ``bosh-cpi`` tag (what orphans would find)."""
    tagged = {t.get("resourceid") for t in inventory.get("tags", []) if t.get("key") == "bosh-cpi"}
    return [o for o in inventory.get(kind, []) if o.get("id") in tagged]


def persistent_disk_ids(inventory: Mapping[str, Any]) -> set[str]:
    ids = {t.get("resourceid") for t in inventory.get("tags", [])
           if t.get("key") == "bosh-role" and t.get("value") == "persistent-disk"}
    return {v["id"] for v in inventory.get("volumes", []) if v.get("id") in ids}


# -- secrets -------------------------------------------------------------------------------------


def _b64_cores(value: bytes) -> set[str]:
    """The base64 characters that depend only on ``value``, at each of the 3 byte alignments,
    so a secret embedded anywhere in a base64 blob (user-data, a header) is still found."""
    cores = set()
    for offset in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\0" * offset + value).decode()
            start = -(-offset * 8 // 6)
            stop = (offset + len(value)) * 8 // 6
            core = text[start:stop]
            if len(core) >= 6:
                cores.add(core)
    return cores


def secret_forms(secret: str) -> set[str]:
    """Plain, JSON-escaped, URL-encoded (both flavours) and base64 forms of one secret."""
    forms = {secret, json.dumps(secret)[1:-1], quote(secret, safe=""), quote_plus(secret),
             quote(secret, safe="/"), quote(secret, safe="*").replace("~", "%7E"),
             quote_plus(secret).replace("~", "%7E")}  # the last two: Java URLEncoder, as CloudStack signs
    forms |= _b64_cores(secret.encode())
    return {f for f in forms if len(f) >= 6}


def pem_fragments(pem: str) -> list[str]:
    """A private key is found by any of its base64 body lines (a PEM may be re-wrapped or escaped)."""
    return [line.strip() for line in pem.splitlines() if line.strip() and not line.startswith("-----")]


@dataclass
class Hit:
    secret: str
    form: str
    where: str
    excerpt: str


@dataclass
class SecretScanner:
    """Find any registered secret, in any of its forms, in text or files."""

    secrets: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, value: str) -> None:
        if value and len(value) >= 6:
            self.secrets[name] = value

    def add_pem(self, name: str, pem: str) -> None:
        for index, line in enumerate(pem_fragments(pem)):
            if len(line) >= 16:
                self.add(f"{name}[{index}]", line)

    def _forms(self) -> list[tuple[str, str]]:
        pairs = [(name, form) for name, value in self.secrets.items() for form in secret_forms(value)]
        return sorted(pairs, key=lambda p: -len(p[1]))

    def scan(self, text: str, where: str) -> list[Hit]:
        hits = []
        for name, form in self._forms():
            position = text.find(form)
            if position >= 0:
                excerpt = text[max(0, position - 40): position + len(form) + 40]
                hits.append(Hit(name, form, where, excerpt))
        return hits

    def scan_files(self, root: Path, *, since: float = 0.0) -> list[Hit]:
        hits: list[Hit] = []
        for path in sorted(Path(root).rglob("*")):
            try:
                if not path.is_file() or path.stat().st_mtime < since:
                    continue
                text = path.read_bytes().decode("utf-8", "replace")
            except OSError:
                continue
            hits += self.scan(text, str(path))
        return hits


def scan_all(scanner: SecretScanner, sources: Iterable[tuple[str, str]]) -> list[Hit]:
    hits: list[Hit] = []
    for where, text in sources:
        hits += scanner.scan(text, where)
    return hits


# -- figures of the run ---------------------------------------------------------------------------


class Figures:
    """Counters the suite keeps while it runs; the conftest writes them out at session end."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.notes: dict[str, Any] = {}

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.counts[name] += n

    def note(self, name: str, value: Any) -> None:
        with self._lock:
            self.notes[name] = value

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {"counts": dict(sorted(self.counts.items())), "notes": dict(sorted(self.notes.items()))}


FIGURES = Figures()
RUN_DIR: list[Path] = []  # this session's pytest base temp dir (set by conftest's session fixture)


def figures_path() -> Path:
    """``$CPI_RELIABILITY_FIGURES``, else a file in this run's own temp dir (never one shared by runs)."""
    if os.environ.get("CPI_RELIABILITY_FIGURES"):
        return Path(os.environ["CPI_RELIABILITY_FIGURES"])
    import tempfile

    run_dir = RUN_DIR[0] if RUN_DIR else Path(tempfile.mkdtemp(prefix="cpi-reliability-"))
    return run_dir / "cpi-reliability.json"


def no_leak_check(label: str, changes: Mapping[str, Any]) -> None:
    """Count a leak check and fail with the difference when there is one."""
    FIGURES.add("leak checks")
    if changes:
        FIGURES.add("leaks found")
    assert not changes, f"{label}: cloud state changed: {json.dumps(changes, indent=1)[:3000]}"


def wait_until(predicate: Any, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())

