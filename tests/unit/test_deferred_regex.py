"""marshmallow is imported with its Unicode e-mail pattern compiled on first use, not at import."""

from __future__ import annotations

import re
import subprocess
import sys

from cpi_framework.config.deferred_regex import DeferredPattern, _deferring_compile, marshmallow_imported


def test_only_case_insensitive_unicode_range_patterns_are_deferred() -> None:
    deferred = _deferring_compile(r"[A-Z\u00a1-\uffff]+\Z", re.IGNORECASE)
    assert isinstance(deferred, DeferredPattern)
    assert deferred.match("Ünïcode") and not deferred.match("a b")
    assert isinstance(_deferring_compile(r"[\u00a1-\uffff]+"), re.Pattern)  # case-sensitive: cheap
    assert isinstance(_deferring_compile(r"[a-z]+", re.IGNORECASE), re.Pattern)


def test_re_compile_is_restored_and_marshmallow_email_still_validates() -> None:
    code = (
        "import re, sys\n"
        "from cpi_framework.config.deferred_regex import DeferredPattern, marshmallow_imported\n"
        "original = re.compile\n"
        "with marshmallow_imported():\n"
        "    from marshmallow import ValidationError, validate\n"
        "assert re.compile is original\n"
        "assert isinstance(validate.Email.DOMAIN_REGEX, DeferredPattern)\n"
        "assert validate.Email.DOMAIN_REGEX._compiled is None  # importing did not compile it\n"
        "assert validate.Email()('ops@exämple.org') == 'ops@exämple.org'\n"
        "try:\n"
        "    validate.Email()('ops@-bad-')\n"
        "except ValidationError:\n"
        "    sys.exit(0)\n"
        "sys.exit('an invalid domain passed')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_a_second_import_changes_nothing() -> None:
    import marshmallow  # noqa: F401 - already imported in this process

    original = re.compile
    with marshmallow_imported():
        assert re.compile is original
