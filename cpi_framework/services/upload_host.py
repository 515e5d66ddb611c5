"""The upload host of direct stemcell uploads: the secondary storage VM (SSVM), not the API server.

``getUploadParamsForTemplate`` answers a ``postURL`` built by the management server
(``TemplateManagerImpl.registerPostUploadInternal`` → ``ImageStoreUtil.generatePostUploadUrl``,
apache/cloudstack 4.6 to main): ``https://<SSVM public IP>/upload/<uuid>``, or
``https://a-b-c-d.<domain>/upload/<uuid>`` when the global setting ``secstorage.ssl.cert.domain``
is ``*.<domain>``; ``http://`` on clouds with ``use.https.to.upload=false`` (4.19+). That host
has its own certificate, usually from another CA than the API's, and its name must match it.

So the upload verifies TLS with ``cloudstack.upload_ca_cert`` (falling back to the API's
``ca_cert``, then the system CAs) — never with verification off — and a failure tells the
operator which of the three fixes applies: the CA setting, the cloud's certificate domain, or
a certificate past its dates. ``cloudstack-cpi check --probe-upload`` uses the same words.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from cpi_framework.config.model import CloudStackConfig
    from cpi_framework.context import CallContext

# OpenSSL X509_V_ERR_* codes (ssl.SSLCertVerificationError.verify_code)
_NAME_MISMATCH = {62, 64}  # HOSTNAME_MISMATCH, IP_ADDRESS_MISMATCH
_DATES = {9, 10}  # CERT_NOT_YET_VALID, CERT_HAS_EXPIRED
_PROBE_HINT = "`cloudstack-cpi check --probe-upload` tests the upload host without uploading"


def upload_verify(ctx: CallContext) -> bool | str:
    """``verify`` for the upload: a CA bundle file (upload_ca_cert, else ca_cert) or True (system CAs)."""
    cs = ctx.config.cloudstack
    if cs.upload_ca_cert:
        return ctx.temp_file(cs.upload_ca_cert, suffix=".pem")
    return ctx.client.settings.verify


def trust_source(cs: CloudStackConfig) -> str:
    """Which setting verifies the upload host, in the operator's words."""
    if cs.upload_ca_cert:
        return "cloudstack.upload_ca_cert"
    return "cloudstack.ca_cert (cloudstack.upload_ca_cert is not set)" if cs.ca_cert else \
        "the system CAs (neither cloudstack.upload_ca_cert nor cloudstack.ca_cert is set)"


def host_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def tls_failure(exc: BaseException, url: str, cs: CloudStackConfig) -> tuple[str, str]:
    """``(what failed, how to fix it)`` for a TLS failure talking to the upload host at ``url``."""
    import ssl

    from cpi_framework.cloudstack.tls import ssl_cause

    cause = ssl_cause(exc)
    where = host_of(url)
    hostname = urlsplit(url).hostname or where
    source = trust_source(cs)
    code = getattr(cause, "verify_code", None)
    detail = getattr(cause, "verify_message", None) or str(getattr(cause, "reason", "") or "").replace("_", " ")
    detail = detail.lower() or "no details"
    if isinstance(cause, ssl.SSLCertVerificationError) and code in _NAME_MISMATCH:
        return (f"the certificate of the upload host {where} does not name '{hostname}' ({detail})",
                "CloudStack names the upload host after the SSVM's public IP, or a-b-c-d.<domain> when the "
                "global setting secstorage.ssl.cert.domain is '*.<domain>': ask the cloud admin to set it to the "
                "wildcard domain of the SSVM's certificate (with DNS for those names) or to install a certificate "
                "for this name; no CA setting can fix a name mismatch")
    if isinstance(cause, ssl.SSLCertVerificationError) and code in _DATES:
        return (f"the certificate of the upload host {where} is outside its validity dates ({detail})",
                "ask the cloud admin to renew the secondary storage VM's certificate (and check this host's clock)")
    if isinstance(cause, ssl.SSLCertVerificationError):
        fix = ("set cloudstack.upload_ca_cert to the CA certificate (PEM) that signed the secondary storage VM's "
               "certificate (ask the cloud admin which CA that is; it is often not the API's)")
        if cs.ca_cert:  # then the system CAs are not consulted either, as for the API
            fix += ", also when it is a public CA: with only cloudstack.ca_cert set, nothing else is trusted"
        if cs.upload_ca_cert:
            fix = ("cloudstack.upload_ca_cert does not verify this certificate: put there the CA (PEM) that signed "
                   "the secondary storage VM's certificate")
        return f"the certificate of the upload host {where} is not trusted by {source} ({detail})", fix
    reason = str(getattr(cause, "reason", "") or "").upper()
    if cs.upload_ca_cert and (reason in {"NO_CERTIFICATE_OR_CRL_FOUND", "PEM_LIB", "NO_START_LINE"}
                              or "PEM" in str(cause)):
        return ("cloudstack.upload_ca_cert holds no usable PEM CA certificate",
                "put the PEM text (-----BEGIN CERTIFICATE-----…) of the CA that signed the secondary storage VM's "
                "certificate there")
    return (f"the TLS handshake with the upload host {where} failed ({detail})",
            f"check that {where} serves HTTPS to this host; {_PROBE_HINT}")


def unreachable(url: str, reason: str) -> tuple[str, str]:
    """``(what failed, how to fix it)`` when no connection to the upload host could be opened."""
    where = host_of(url)
    return (f"cannot connect to the upload host {where} ({reason})",
            "the CPI's host must reach the secondary storage VM's public address (the postURL host) on its HTTPS "
            f"port, directly or through cloudstack.proxy_*; {_PROBE_HINT}; or use stemcell_upload_mode url")


def describe(url: str, exc: BaseException, cs: CloudStackConfig) -> tuple[str, str] | None:
    """``tls_failure``/``unreachable`` for a connection failure (:mod:`cpi_framework.cloudstack.connection`),
    None for other failures."""
    from cpi_framework.cloudstack.connection import ConnectFailed, TlsFailed

    if isinstance(exc, TlsFailed):
        return tls_failure(exc, url, cs)
    if isinstance(exc, ConnectFailed):  # refused, unresolvable, timed out, or the proxy failed: never connected
        return unreachable(url, exc.reason)
    return None


def probe(url: str, cs: CloudStackConfig, verify: bool | str, proxies: Any = None,
          timeout: float = 10.0) -> tuple[str, str, str]:
    """Open the upload host as the upload would (same TLS settings), without sending an upload.

    One ``GET /`` on the postURL's host (never the one-time ``/upload/`` path): any HTTP answer
    proves reachability and TLS. Returns ``(status, message, fix)`` with status ``pass``,
    ``warn`` (plain HTTP) or ``fail``.
    """
    from cpi_framework.cloudstack.connection import Connection, HttpFailure

    where = host_of(url)
    failure: tuple[str, str] | None = None
    try:
        with Connection(where, verify=verify, proxies=proxies, connect_timeout=timeout,
                        read_timeout=timeout) as connection:
            connection.request("GET", "/", headers={"Connection": "close"})
    except HttpFailure as exc:
        failure = describe(url, exc, cs) or (f"the upload host {where} failed: {exc.reason}", _PROBE_HINT)
    if failure is not None:
        return "fail", *failure
    if url.startswith("http://"):
        return ("warn", f"the upload host {where} takes stemcell images over plain HTTP, unencrypted",
                "ask the cloud admin to set use.https.to.upload=true (then set cloudstack.upload_ca_cert if needed)")
    return "pass", f"the upload host {where} answers, TLS verified with {trust_source(cs)}", ""
