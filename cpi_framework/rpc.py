"""The RPC envelope: validate a request, dispatch it, and shape exactly one response.

Mirrors bosh-cpi-go's JSON dispatcher: envelope errors are ``CpiError`` with its messages,
unknown methods ``NotImplemented``, and every exception becomes a typed error in one place
(:func:`cpi_framework.errors.to_wire`). Nothing here knows CloudStack.
"""

from __future__ import annotations

import importlib
import json
import types
import typing
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from cpi_framework.errors import CpiError, MethodNotImplemented, to_wire
from cpi_framework.methods import METHODS, MethodEntry

if TYPE_CHECKING:
    import logging

MAX_API_VERSION = 3
SECRET_KEYS = ("password", "secret", "private_key", "token", "apikey", "api_key", "secret_access_key")
CONTEXT_CONFIG_SECTIONS = ("cloudstack", "cpi")


def parse_request(raw: bytes | str) -> dict[str, Any]:
    """Validate the envelope; raise CpiError naming what is wrong."""
    try:
        request = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise CpiError("Must provide valid JSON payload") from None
    except RecursionError:
        raise CpiError("Must provide valid JSON payload: the request nests too deeply") from None
    if not isinstance(request, dict):
        raise CpiError("Must provide valid JSON payload: the request must be a JSON object")
    if "method" not in request:
        raise CpiError("Must provide 'method' key")
    if not isinstance(request["method"], str):
        raise CpiError("Must provide 'method' key as a string")
    if "arguments" not in request:
        raise CpiError("Must provide 'arguments' key")
    if not isinstance(request["arguments"], list):
        raise CpiError("Must provide 'arguments' key as an array")
    context = request.get("context")
    if context is not None and not isinstance(context, dict):
        raise CpiError("'context' must be an object when given")
    version = request.get("api_version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        raise CpiError(f"'api_version' must be an integer, got {json.dumps(version)[:40]}")
    if isinstance(version, int) and version > MAX_API_VERSION:
        raise MethodNotImplemented(
            f"Must call implemented method: CPI API version requested is '{version}', "
            f"max supported is '{MAX_API_VERSION}'"
        )
    return request


def lookup(method: str, api_version: int) -> tuple[MethodEntry, Callable[..., Any]]:
    entry = METHODS.get(method)
    if entry is None:
        raise MethodNotImplemented(f"Must call implemented method: Unknown method '{method}'")
    if api_version < entry.min_api_version:
        raise MethodNotImplemented(f"Method '{method}' requires CPI API version {entry.min_api_version} or higher")
    module_name, _, function_name = entry.target.partition(":")
    module = importlib.import_module(f"cpi_framework.methods.{module_name}")
    return entry, getattr(module, function_name)


def bind_arguments(method: str, function: Callable[..., Any], arguments: list[Any]) -> list[Any]:
    """Positional binding like bosh-cpi-go's JSONCaller: extra arguments ignored, too few an error.

    Each parameter's annotation is checked (``str``, ``int``, ``dict``, ``list``, ``X | None``,
    ``Any``); a ``str`` parameter whose name ends in ``cid`` must be non-empty.
    """
    names, required = _positional_parameters(function)
    if len(arguments) < required:
        missing = ", ".join(names[len(arguments):required])
        raise CpiError(
            f"Not enough arguments for '{method}': expected {required}, got {len(arguments)} "
            f"(missing: {missing})"
        )
    bound = arguments[: len(names)]
    hints = _annotations(function)
    for name, value in zip(names, bound, strict=False):
        _check(method, name, value, hints.get(name, Any))
    return bound


def _positional_parameters(function: Callable[..., Any]) -> tuple[tuple[str, ...], int]:
    """The parameters after ``ctx`` and how many of them have no default.

    Read from the code object (``inspect.signature`` would say the same for these plain
    functions, but importing ``inspect`` costs every call ~10 ms).
    """
    while hasattr(function, "__wrapped__"):  # a decorated method: the signature of the one it wraps
        function = function.__wrapped__
    code = function.__code__
    names = code.co_varnames[1 : code.co_argcount]  # skip ctx
    return names, len(names) - len(function.__defaults__ or ())


def _annotations(function: Callable[..., Any]) -> dict[str, Any]:
    namespace = dict(vars(importlib.import_module(function.__module__)))
    namespace.setdefault("Any", Any)
    result = {}
    for name, annotation in getattr(function, "__annotations__", {}).items():
        if isinstance(annotation, str):
            try:
                annotation = eval(annotation, namespace)  # noqa: S307 - our own modules' annotations
            except Exception:
                annotation = Any
        result[name] = annotation
    return result


_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "a boolean", dict: "an object",
          list: "an array", type(None): "null"}


def _check(method: str, name: str, value: Any, annotation: Any) -> None:
    allowed = _allowed(annotation)
    if allowed is None:
        return
    ok = any(_is(value, kind) for kind in allowed)
    if ok and isinstance(value, str) and name.endswith("cid") and type(None) not in allowed and not value:
        raise CpiError(f"Argument '{name}' of '{method}' must be a non-empty string")
    if not ok:
        expected = " or ".join(_NAMES.get(kind, getattr(kind, "__name__", str(kind))) for kind in allowed)
        got = _NAMES.get(type(value), type(value).__name__)
        raise CpiError(f"Argument '{name}' of '{method}' must be {expected}, got {got}: {_short(value)}")


def _allowed(annotation: Any) -> tuple[type, ...] | None:
    if annotation is Any:
        return None
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        kinds: list[type] = []
        for arg in typing.get_args(annotation):
            sub = _allowed(arg)
            if sub is None:
                return None
            kinds.extend(sub)
        return tuple(kinds)
    if origin is not None:
        annotation = origin
    if annotation is None:
        return (type(None),)
    if annotation is Mapping:
        return (dict,)
    return (annotation,) if isinstance(annotation, type) else None


def _is(value: Any, kind: type) -> bool:
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, kind)


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def collect_secrets(value: Any, found: list[str] | None = None, secret: bool = False) -> list[str]:
    """String leaves under secret-looking keys (``env.bosh.password``, mbus certs, blobstore options)."""
    found = [] if found is None else found
    if isinstance(value, Mapping):
        for key, item in value.items():
            is_secret = secret or any(word in str(key).lower() for word in SECRET_KEYS)
            collect_secrets(item, found, is_secret)
    elif isinstance(value, list):
        for item in value:
            collect_secrets(item, found, secret)
    elif secret and isinstance(value, str):
        found.append(value)
    return found


def response(result: Any = None, error: dict[str, Any] | None = None, log_text: str = "") -> dict[str, Any]:
    return {"result": None if error else result, "error": error, "log": log_text}


def error_response(exc: BaseException, logger: logging.Logger) -> dict[str, Any]:
    """Log what happened and build the error object.

    Errors we raise on purpose and CloudStack's answers are logged as one line (the
    traceback only at debug level); anything unexpected gets its traceback in the log.
    """
    import traceback

    from cpi_framework.errors import CpiFrameworkError

    wire = to_wire(exc)
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    if isinstance(exc, CpiFrameworkError) or type(exc).__module__.startswith("cpi_framework.cloudstack"):
        logger.info("Rescued %s: %s", wire["type"], wire["message"])
        logger.debug("%s", trace)
    else:
        logger.error("Rescued %s (%s): %s\n%s", wire["type"], type(exc).__name__, wire["message"], trace)
    return wire
