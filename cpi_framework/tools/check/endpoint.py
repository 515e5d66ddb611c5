"""The checks of the endpoint itself: reachability, TLS, the keys, the CloudStack version, API throttling."""

from __future__ import annotations

from typing import Any

from cpi_framework.tools.check.base import DENIED, CheckerBase


class EndpointChecks(CheckerBase):
    """What ``listCapabilities`` proves and reports; later checks need these to pass."""

    def check_endpoint(self) -> bool:
        """One cheap read (listCapabilities) proves reachability, TLS and the keys together."""
        from cpi_framework.cloudstack import (
            ApiError,
            AuthenticationError,
            CloudStackError,
            NotTLSError,
            TLSError,
            TransportError,
            UnexpectedResponse,
        )

        assert self.ctx is not None
        cs = self.ctx.config.cloudstack
        try:
            self.capabilities = self.ctx.client.call("listCapabilities").get("capability") or {}
        except NotTLSError:
            self.add("endpoint", "fail", f"{cs.endpoint} does not speak TLS: the server answered in plain HTTP",
                     "use an http:// endpoint if the server has no TLS, or the https:// URL of the port that serves "
                     "TLS (often 8443, or 443 behind a proxy); cloudstack.ca_cert does not help here")
            return False
        except TLSError as exc:
            fix = ("put the CA certificate (PEM) of the endpoint in cloudstack.ca_cert" if not cs.ca_cert else
                   "cloudstack.ca_cert does not verify this server's certificate: use the CA that signed it, and "
                   "check that the certificate names the endpoint's host")
            self.add("endpoint", "fail", str(exc).partition(": ")[2] or str(exc), fix)
            return False
        except UnexpectedResponse as exc:
            self.add("endpoint", "fail", str(exc), "cloudstack.endpoint must be the API URL, e.g. "
                     "https://cloud.example.com/client/api")
            return False
        except TransportError as exc:
            self.add("endpoint", "fail", f"cannot reach {cs.endpoint}: {exc}",
                     "check cloudstack.endpoint, the network path from this host, and cloudstack.proxy_*")
            return False
        except AuthenticationError as exc:
            self.add("endpoint", "pass", f"{cs.endpoint} answers{_tls_note(cs)}")
            self.add("keys", "fail", f"the API rejected the keys: {exc.errortext}",
                     "set cloudstack.api_key and cloudstack.secret_access_key to a key pair of an enabled user "
                     "(CloudStack UI: Accounts → user → Generate keys); also check this host's clock")
            return False
        except ApiError as exc:
            self.add("endpoint", "pass", f"{cs.endpoint} answers{_tls_note(cs)}")
            if exc.errorcode == DENIED:  # the keys are proven by the next read, which signs the same way
                self.unreadable("keys", "the keys and the CloudStack version", exc)
                self.capabilities = {"denied": True}
                return True
            self.add("keys", "fail", f"listCapabilities failed: {exc}", "the account's role must allow read commands")
            return False
        except CloudStackError as exc:
            self.add("endpoint", "fail", f"listCapabilities failed: {exc}",
                     "check cloudstack.endpoint and the cloud's management server")
            return False
        self.add("endpoint", "pass", f"{cs.endpoint} answers{_tls_note(cs)}",
                 "" if cs.endpoint.startswith("https://") else "plain HTTP: prefer an https:// endpoint")
        if cs.endpoint.startswith("http://"):
            self.results[-1].status = "warn"
        version = self.capabilities.get("cloudstackversion", "unknown")
        self.add("keys", "pass", f"API key accepted (CloudStack {version})")
        self.check_version()
        return True

    def check_version(self) -> None:
        """Name the cloud's CloudStack version and what it implies: the routes the CPI takes, the keys that matter."""
        from cpi_framework.services import versions

        assert self.ctx is not None
        cs, cpi = self.ctx.config.cloudstack, self.ctx.config.cpi
        reported = self.capabilities.get("cloudstackversion")
        version = versions.parse_version(reported)
        if version is None:
            self.add("version", "warn", f"the cloud does not report a CloudStack version ({reported!r})",
                     "set cloudstack.version to the cloud's version so the CPI need not probe")
            return
        shown = versions.show(version)
        facts, fixes, status = [], [], "pass"
        if version < versions.OLDEST_SUPPORTED:
            status = "warn"
            facts.append(f"older than {versions.show(versions.OLDEST_SUPPORTED)}, the oldest version tested")
        direct = version >= versions.COMMANDS_SINCE["getUploadParamsForTemplate"]
        if direct:
            facts.append("stemcells by direct upload (getUploadParamsForTemplate)")
        else:
            facts.append("no direct upload before 4.6: stemcells by URL registration (registerTemplate)")
            if cs.stemcell_upload_mode == "direct":
                status = "fail"
                fixes.append("set cloudstack.stemcell_upload_mode to auto or url")
            elif not (cpi.stemcell_serve_address or cs.stemcell_url_base):
                status = "warn" if status == "pass" else status
                fixes.append("set cpi.stemcell_serve_address to an address:port of this host the secondary storage "
                             "VM can reach (else the CPI serves on its address towards the API, on a random port), "
                             "or cloudstack.stemcell_url_base")
        if version >= versions.COMMANDS_SINCE["changeOfferingForVolume"]:
            facts.append("disk offering changes by changeOfferingForVolume")
        else:
            facts.append("disk offering changes by resizeVolume (changeOfferingForVolume from 4.17)")
        facts.append("unknown commands answer " + ("401, like wrong keys" if version >= (4, 11) else "432"))
        configured = versions.configured(self.ctx)
        keys = ["cloudstack.stemcell_serve_address or cloudstack.stemcell_url_base"] if not direct else []
        if configured is None and version < versions.COMMANDS_SINCE["changeOfferingForVolume"]:
            keys.append(f"cloudstack.version: \"{shown}\" (optional: the CPI then skips the refused first try of "
                        "newer commands)")
        if keys:
            facts.append("config keys that matter on this version: " + ", ".join(keys))
        if configured is not None and configured[:2] != version[:2]:
            status = "warn" if status == "pass" else status
            fixes.insert(0, f"cloudstack.version is {versions.show(configured)} but the cloud runs {shown}: "
                            f"set it to \"{shown}\" or remove it")
        self.add("version", status, f"CloudStack {shown}: " + "; ".join(facts), "; ".join(fixes))

    def report_throttling(self) -> None:
        caps = self.capabilities
        limit, interval = caps.get("apilimitmax"), caps.get("apilimitinterval")
        if caps.get("denied"):
            self.add("api limits", "skip", "unknown: listCapabilities was refused (see keys)")
        elif limit is None:
            self.add("api limits", "skip", "the cloud does not report API throttling (listCapabilities)")
        elif int(limit) <= 0:
            self.add("api limits", "pass", "API throttling is off")
        else:
            rate = int(limit) / max(float(interval or 1), 1.0)
            status = "warn" if rate < 2 else "pass"
            self.add("api limits", status, f"API throttling: {limit} requests per {interval or 1} s per account",
                     "the CPI waits out throttling (429), but deploys will be slow; ask for a higher "
                     "api.throttling.max" if status == "warn" else "")


def _tls_note(cs: Any) -> str:
    if not cs.endpoint.startswith("https://"):
        return " (plain HTTP, not encrypted)"
    return ", TLS verified with cloudstack.ca_cert" if cs.ca_cert else ", TLS verified"
