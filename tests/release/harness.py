"""Helpers for the release tests: real-ERB rendering through render.rb and a go-patch subset.

Rendering shells out to Debian's ``ruby`` with ``render.rb`` (bosh-template's ``p``/``if_p``/
``spec`` semantics). Without ruby the tests skip locally and fail in CI (env ``CI`` set),
where ``.ci/run`` installs it.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
RELEASE = REPO / "release"
JOB = RELEASE / "jobs" / "cloudstack_cpi"
SPEC = JOB / "spec"
TEMPLATES = JOB / "templates"
RENDER_RB = Path(__file__).with_name("render.rb")


class RenderError(Exception):
    """render.rb failed (e.g. UnknownProperty); the message is its stderr."""


def ruby() -> str:
    """The ruby executable, or skip (fail under CI) with the reason."""
    found = shutil.which("ruby")
    if found:
        return found
    reason = "ruby is not installed (apt-get install -y ruby): the release templates are rendered with real ERB"
    if os.environ.get("CI"):
        pytest.fail(reason + "; CI must install it")
    pytest.skip(reason)


def render(template: str, properties: Mapping[str, Any], *, spec: Path = SPEC) -> str:
    """Render ``templates/<template>`` for manifest ``properties`` the way the director would."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(properties, handle)
    try:
        done = subprocess.run(
            [ruby(), str(RENDER_RB), str(spec), str(TEMPLATES / template), handle.name],
            capture_output=True, text=True, timeout=60,
        )
    finally:
        os.unlink(handle.name)
    if done.returncode != 0:
        raise RenderError(done.stderr.strip() or f"render.rb exited {done.returncode}")
    return done.stdout


def render_job(properties: Mapping[str, Any], jobs_dir: Path) -> Path:
    """A rendered job directory ``jobs_dir/cloudstack_cpi`` as the agent lays it out."""
    job = jobs_dir / "cloudstack_cpi"
    (job / "bin").mkdir(parents=True, exist_ok=True)
    (job / "config").mkdir(parents=True, exist_ok=True)
    (job / "bin" / "cpi").write_text(render("cpi.erb", properties))
    (job / "bin" / "cpi").chmod(0o755)
    (job / "config" / "cpi.json").write_text(render("cpi.json.erb", properties))
    (job / "config" / "cacert.pem").write_text(render("cacert.pem.erb", properties))
    return job


# -- go-patch (the subset bosh-deployment's ops files use) ---------------------------------------


class PatchError(Exception):
    pass


def apply_ops(document: Any, ops: list[Mapping[str, Any]]) -> Any:
    """Apply go-patch ``replace``/``remove`` operations; returns a new document."""
    document = copy.deepcopy(document)
    for op in ops:
        tokens = _tokens(op["path"])
        kind = op.get("type", "replace")
        if kind == "replace":
            document = _replace(document, tokens, copy.deepcopy(op["value"]), op["path"])
        elif kind == "remove":
            _remove(document, tokens, op["path"])
        else:
            raise PatchError(f"unsupported op type {kind!r}")
    return document


def _tokens(path: str) -> list[tuple[str, bool]]:
    if not path.startswith("/"):
        raise PatchError(f"path must start with /: {path}")
    out = []
    for raw in path[1:].split("/"):
        optional = raw.endswith("?")
        out.append((raw[:-1] if optional else raw, optional))
    return out


def _replace(node: Any, tokens: list[tuple[str, bool]], value: Any, path: str, optional: bool = False) -> Any:
    """Like go-patch: after the first ``?`` token every later missing key or item is created."""
    if not tokens:
        return value
    (token, marked), rest = tokens[0], tokens[1:]
    optional = optional or marked
    if isinstance(node, list):
        if token == "-":
            if rest:
                raise PatchError(f"'-' must be last in {path}")
            node.append(value)
            return node
        index = _find(node, token, path, create=optional)
        node[index] = _replace(node[index], rest, value, path, optional)
        return node
    if not isinstance(node, dict):
        raise PatchError(f"cannot descend into {type(node).__name__} at {token!r} of {path}")
    if token not in node:
        if not optional:
            raise PatchError(f"missing key {token!r} in {path} (no '?')")
        node[token] = [] if rest and (rest[0][0] == "-" or "=" in rest[0][0]) else {}
    node[token] = _replace(node[token], rest, value, path, optional)
    return node


def _find(items: list[Any], token: str, path: str, *, create: bool) -> int:
    if re.fullmatch(r"-?\d+", token):
        return int(token)
    key, _, wanted = token.partition("=")
    for index, item in enumerate(items):
        if isinstance(item, dict) and str(item.get(key)) == wanted:
            return index
    if not create:
        raise PatchError(f"no item with {token} in {path}")
    items.append({key: wanted})
    return len(items) - 1


def _remove(node: Any, tokens: list[tuple[str, bool]], path: str) -> None:
    for token, optional in tokens[:-1]:
        if isinstance(node, list):
            node = node[_find(node, token, path, create=False)]
        elif token in node:
            node = node[token]
        elif optional:
            return
        else:
            raise PatchError(f"missing key {token!r} in {path}")
    token, optional = tokens[-1]
    if isinstance(node, list):
        del node[_find(node, token, path, create=False)]
    elif token in node:
        del node[token]
    elif not optional:
        raise PatchError(f"missing key {token!r} in {path}")


def interpolate(document: Any, variables: Mapping[str, Any]) -> Any:
    """Replace ``((name))`` (and ``((name.field))``) placeholders; unknown ones get a fake value."""
    if isinstance(document, dict):
        return {key: interpolate(value, variables) for key, value in document.items()}
    if isinstance(document, list):
        return [interpolate(value, variables) for value in document]
    if isinstance(document, str):
        whole = re.fullmatch(r"\(\(([\w./-]+)\)\)", document)
        if whole:
            return variables.get(whole.group(1), f"fake-{whole.group(1)}")
        return re.sub(r"\(\(([\w./-]+)\)\)", lambda m: str(variables.get(m.group(1), f"fake-{m.group(1)}")),
                      document)
    return document


def leaves(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted leaf names of a nested mapping (``{"a": {"b": 1}}`` → ``{"a.b": 1}``)."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(leaves(value, dotted + "."))
        else:
            out[dotted] = value
    return out
