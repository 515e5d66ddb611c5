"""The fast path's table is the schema's: regenerated in memory, it equals the committed file.

And the generator refuses what the fast path would not check, rather than leaving it out.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import fields, validate

from cpi_framework.config import property_table, validators
from cpi_framework.config.schema import _Strict, plain
from cpi_framework.config.table import SECTIONS

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gen_config_table.py"


def generator():
    spec = importlib.util.spec_from_file_location("gen_config_table", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_config_table", module)
    spec.loader.exec_module(module)
    return module


def test_the_committed_table_is_the_schemas():
    gen = generator()
    assert gen.TARGET.read_text() == gen.render(), "run scripts/gen_config_table.py after changing the schema"


def test_the_table_lists_every_property_of_the_property_table():
    def names(path="", prefix=""):
        for name, spec in SECTIONS[path]["fields"].items():
            if spec["type"] == "section":
                yield from names(spec["section"], f"{prefix}{name}.")
            else:
                yield f"{prefix}{name}", spec

    table = dict(names())
    assert list(table) == [p.name for p in property_table()]
    for prop in property_table():
        assert table[prop.name]["secret"] == prop.secret and table[prop.name]["required"] == prop.required
        assert table[prop.name].get("default") == prop.default


@pytest.mark.parametrize("fld", [
    fields.Url(load_default=None),
    fields.String(load_default=None, validate=validate.Email()),
    fields.String(load_default=None, validate=lambda v: v != "x"),
    fields.String(load_default=None, data_key="otherName"),
    fields.Float(load_default=None, allow_nan=True),
    fields.Boolean(load_default=None, truthy={"sure"}),
    fields.Dict(load_default=dict, values=fields.Integer()),
    fields.String(),
    fields.String(load_default=None, dump_only=True),
])
def test_the_generator_refuses_what_the_fast_path_does_not_check(fld):
    schema = type("Probe", (_Strict,), {"probe": fld})()
    gen = generator()
    with pytest.raises(gen.Unsupported):
        gen.section(schema, "", {})


def test_the_generator_refuses_a_section_that_lets_unknown_keys_through():
    from marshmallow import EXCLUDE

    schema = type("Lenient", (_Strict,), {"probe": fields.String(load_default=None)})(unknown=EXCLUDE)
    gen = generator()
    with pytest.raises(gen.Unsupported, match="unknown keys"):
        gen.section(schema, "", {})


def test_a_plain_check_is_named_in_the_table():
    schema = type("Probe", (_Strict,), {"url": fields.String(load_default=None, validate=plain(validators.http_url,
                                                                                                "Not a valid URL."))})()
    assert generator().section(schema, "", {})["fields"]["url"]["validate"] == [["check", "http_url"]]


_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")
"""The host pattern ``http_url`` used before it was written with ``str`` methods."""


@given(st.text(alphabet="aZ09-._é \n", max_size=70) | st.from_regex(_HOST, fullmatch=True))
def test_host_names_are_judged_as_the_pattern_judged_them(host):
    assert validators.is_host_name(host) == (_HOST.fullmatch(host) is not None)


@pytest.mark.parametrize("host", ["a" * 63, "a" * 64, "a" * 63 + ".b", "a-" * 31 + "a", "-a", "a-", "a.", "a..",
                                  ".", "", "1.2.3.4", "xn--bcher-kva", "b\u00fccher", "a_b"])
def test_host_name_edges(host):
    assert validators.is_host_name(host) == (_HOST.fullmatch(host) is not None)
