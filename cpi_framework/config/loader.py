"""Reading, parsing and validating the CPI config file.

The property names of the Java CloudStack CPI (bosh-cloudstack-cpi-core) are kept; keys of its
WebDAV daemon are not accepted. Unknown keys fail naming the key and the file.

A config goes through the fast path (:mod:`cpi_framework.config.fast`) first, which accepts
only what it proves valid and builds the same :class:`Config`; everything else is validated by
the marshmallow schema (:func:`validate_config`), the authority for what is valid and for
every error message. So a valid config costs no ``import marshmallow``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from cpi_framework.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path

    from cpi_framework.config.model import Config


def load_config(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Config:
    """Read, merge director context overrides into, and validate a config file.

    :raises ConfigError: naming the file and every offending key.
    """
    where = config_path_text(path)
    text = read_config_file(where)
    raw = parse_config_text(text, where)
    if overrides:
        raw = deep_merge(raw, overrides)
        where = f"{where} (with the director context's overrides)"
    from cpi_framework.config.fast import load_valid

    config = load_valid(raw)
    if config is None:
        return validate_config(raw, where)
    return config._replace(path=where)


def config_path_text(path: str | Path) -> str:
    """``str(Path(path))`` (the name every message gives), importing pathlib only when it would change the text.

    pathlib (and what it imports) is ~3 ms of a call that needs none of it: a director's path is
    already in the form pathlib would print.
    """
    text = os.fspath(path)
    if (isinstance(text, str) and text and "//" not in text and "/./" not in text and not text.startswith("./")
            and not text.endswith(("/", "/.")) and text != "."):
        return text
    from pathlib import Path

    return str(Path(text))


def read_config_file(path: str | Path) -> str:
    """The file's text; unreadable or non-UTF-8 files are ConfigErrors naming the file."""
    try:
        with open(path, encoding="utf-8") as stream:
            return stream.read()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}", path=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config file {path} is not UTF-8 text (invalid byte at offset {exc.start})", path=str(path)
        ) from None


def parse_config_text(text: str, where: str) -> dict[str, Any]:
    """JSON, or YAML when it is not JSON (YAML is imported only then); a ``*.json`` file is JSON only."""
    try:
        raw = json.loads(text)
    except RecursionError:
        raise ConfigError(f"config file {where} nests too deeply", path=where) from None
    except ValueError as json_error:
        if where.endswith(".json"):  # the release renders cpi.json: YAML's leniency would hide the typo
            raise ConfigError(f"config file {where} is not valid JSON: {_json_problem(json_error)}",
                              path=where) from None
        import yaml

        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            if _meant_as_json(text, where):  # the release renders JSON: the JSON parser's words help
                raise ConfigError(f"config file {where} is not valid JSON: {_json_problem(json_error)}",
                                  path=where) from None
            raise ConfigError(f"config file {where} is neither valid JSON nor YAML: {_yaml_problem(exc)}",
                              path=where) from None
        except RecursionError:
            raise ConfigError(f"config file {where} nests too deeply", path=where) from None
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {where} must hold a mapping at the top level", path=where)
    return raw


def _meant_as_json(text: str, where: str) -> bool:
    return text.lstrip()[:1] in {"{", "["}


def _json_problem(exc: ValueError) -> str:
    """``json``'s message and position, without the document (a line may hold a secret)."""
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
    return str(exc)


def _yaml_problem(exc: Exception) -> str:
    """Where and what, without PyYAML's quoted source line (it may be a secret's line)."""
    problem = getattr(exc, "problem", None) or type(exc).__name__
    mark = getattr(exc, "problem_mark", None)
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark else str(problem)


def validate_config(raw: Mapping[str, Any], where: str) -> Config:
    """Validate with the marshmallow schema: the config, or a ConfigError naming every problem."""
    from cpi_framework.config.deferred_regex import marshmallow_imported

    with marshmallow_imported():  # ~25 ms less on the first import, see there
        from marshmallow import ValidationError

        from cpi_framework.config.schema import ConfigSchema
    try:
        config: Config = ConfigSchema().load(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{key}: {msg}{did_you_mean(key) if msg == 'unknown key' else ''}"
                             for key, msg in flatten_errors(exc.messages))
        raise ConfigError(f"invalid config file {where}: {problems}", path=where, messages=exc.messages) from None
    return config._replace(path=where)


def suggest_key(dotted: str) -> str | None:
    """The known key a misspelled one most likely meant (``cpi.agent.mbuss`` → ``cpi.agent.mbus``)."""
    import difflib

    from cpi_framework.config.table import SECTIONS  # the schema's keys, without importing it

    *parents, key = dotted.split(".")
    section = SECTIONS[""]
    for parent in parents:
        field = section["fields"].get(parent)
        if field is None or field["type"] != "section":
            return None
        section = SECTIONS[field["section"]]
    close = difflib.get_close_matches(key, list(section["fields"]), n=1, cutoff=0.75)
    return ".".join([*parents, close[0]]) if close else None


def did_you_mean(dotted: str) -> str:
    """`` (did you mean 'cpi.agent.mbus'?)`` for a misspelled key, else ``""``."""
    close = suggest_key(dotted)
    return f" (did you mean '{close}'?)" if close else ""


def flatten_errors(messages: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """marshmallow's nested message dict as ``("cloudstack.endpoint", "Missing data…")`` pairs."""
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            dotted = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                dotted = prefix or "(top level)"
            yield from flatten_errors(value, dotted)
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        text = " ".join(messages)
        if text == "Unknown field.":
            text = "unknown key"
        elif text == "Missing data for required field.":
            text = "missing required key"
        yield prefix, text
    elif isinstance(messages, list):
        for index, value in enumerate(messages):
            yield from flatten_errors(value, f"{prefix}[{index}]")
    else:
        yield prefix, str(messages)


def deep_merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
