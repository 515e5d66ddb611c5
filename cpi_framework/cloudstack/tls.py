"""TLS trust for every https connection the CPI makes, exactly as it was under ``requests``.

* ``verify=True``: certifi's Mozilla bundle (requests' default), or the bundle named by
  ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` when set (requests' ``trust_env``) — not the host's
  system store, so a release behaves the same on every stemcell;
* ``verify="<path>"``: only that CA file (``cloudstack.ca_cert``/``upload_ca_cert`` are written to
  one) or directory;
* ``verify=False``: no verification (never set by the CPI itself).

The hostname is always checked. Loading certifi's ~150 certificates costs ~60 ms, so a context is
built only for an https origin, once per process and trust source (``http.client`` imports ``ssl``
itself; certifi is imported here, on first use).
"""

from __future__ import annotations

import os
import ssl
from typing import Any

__all__ = ["context_for", "ssl_cause"]

_contexts: dict[Any, ssl.SSLContext] = {}


def _bundle(verify: bool | str) -> str | None:
    if verify is True:
        env = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if env:
            return env
        import certifi

        return certifi.where()
    return verify or None


def context_for(verify: bool | str) -> ssl.SSLContext:
    """The shared client context for ``verify``; raises ``ssl.SSLError``/``OSError`` for an unusable CA file."""
    bundle = _bundle(verify)
    key: Any = False
    if bundle is not None:
        stat = os.stat(bundle)  # a rewritten file is a new trust source
        key = (bundle, stat.st_mtime_ns, stat.st_size)
    context = _contexts.get(key)
    if context is None:
        if bundle is None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif os.path.isdir(bundle):
            context = ssl.create_default_context(capath=bundle)
        else:
            context = ssl.create_default_context(cafile=bundle)
        context.set_alpn_protocols(["http/1.1"])
        _contexts[key] = context
    return context


def ssl_cause(exc: BaseException) -> Any:
    """The ``ssl.SSLError`` under an error's wrappers (args, ``reason``, ``__cause__``, ``__context__``)."""
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, ssl.SSLError):
            return item
        todo.extend([*item.args, getattr(item, "reason", None), item.__cause__, item.__context__])
    return None
