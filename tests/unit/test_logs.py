"""Redaction: secrets never reach stderr or the log field, in any encoding."""

from __future__ import annotations

import base64
import io
import logging
from urllib.parse import quote

from cpi_framework.logs import MASK, CallLog, Redactor


def test_known_values_in_plain_urlencoded_and_base64_forms():
    secret = "s3cr~t/p+ss=word"
    redactor = Redactor([secret])
    for form in (secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode().rstrip("=")):
        assert form not in redactor.redact(f"value={form} done")


def test_secret_shapes_are_masked_without_knowing_values():
    redactor = Redactor()
    text = redactor.redact(
        'GET /client/api?command=listZones&apikey=AKEY123&signature=SIG%2B%3D&response=json '
        '{"password": "hunter22", "private_key": "abc"} nats://nats:natspass@10.0.0.6:4222 '
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----"
    )
    for leaked in ("AKEY123", "SIG%2B%3D", "hunter22", '"abc"', "natspass", "MIIEow"):
        assert leaked not in text
    assert MASK in text


def test_short_values_are_not_treated_as_secrets():
    assert Redactor(["ab"]).redact("abc") == "abc"


def test_call_log_redacts_messages_args_and_tracebacks():
    stream = io.StringIO()
    call_log = CallLog(stream=stream)
    call_log.redactor.add(["topsecretvalue"])
    call_log.request_id = "cpi-1"
    log = logging.getLogger("cpi.test")
    log.info("arg %s", "topsecretvalue")
    try:
        raise RuntimeError("boom topsecretvalue")
    except RuntimeError:
        log.exception("failed")
    assert "topsecretvalue" not in stream.getvalue()
    assert "topsecretvalue" not in call_log.text()
    assert call_log.text().startswith("[cpi-1] ")
    assert "RuntimeError" in call_log.text()


def test_debug_lines_only_when_asked():
    stream = io.StringIO()
    call_log = CallLog(stream=stream)
    logging.getLogger("cpi.x").debug("hidden")
    call_log.set_debug(True)
    logging.getLogger("cpi.x").debug("shown")
    assert "hidden" not in call_log.text() and "shown" in call_log.text()
