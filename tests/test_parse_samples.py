"""Every real sample parses to its expected JSON (core fields exactly); the negative one gives the
findings its expected JSON names. Samples live in tests/data/samples (origin in SOURCES.tsv)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from fapiao.codec import invoice_to_json
from fapiao.findings import has_errors
from fapiao.parse import parse_bytes
from fapiao.validate import Context, validate

SAMPLES = Path(__file__).parent / "data" / "samples"
EXPECTED = sorted(SAMPLES.glob("**/*.expected.json"))
CORE = ("kind", "code", "number", "issue_date", "seller", "buyer", "amount", "tax", "total")
CTX = Context(today=dt.date(2030, 1, 1))


def _core(doc: dict) -> dict:
    out = {key: doc[key] for key in (*CORE, "check_code")}
    out["items"] = [{k: i[k] for k in ("name", "tax_rate", "amount", "tax")} for i in doc["items"]]
    return out


def test_samples_are_present() -> None:
    assert len(EXPECTED) == 9
    listed = (SAMPLES / "SOURCES.tsv").read_text(encoding="utf-8")
    for path in EXPECTED:
        assert str(path.relative_to(SAMPLES)).removesuffix(".expected.json") in listed


@pytest.mark.parametrize("expected", EXPECTED, ids=lambda p: p.name.removesuffix(".expected.json"))
def test_sample_parses_to_expected(expected: Path) -> None:
    want = json.loads(expected.read_text(encoding="utf-8"))
    source = expected.with_name(expected.name.removesuffix(".expected.json"))
    [parsed] = parse_bytes(source.read_bytes())
    assert parsed.invoice is not None, [f.message_en for f in parsed.findings]
    assert parsed.findings == []  # every source inside the file agrees
    assert _core(invoice_to_json(parsed.invoice)) == _core(want)
    findings = validate(parsed.invoice, CTX)
    bad_ids = {f.field for f in findings if f.code == "tax_id_invalid"}
    if want["valid_tax_ids"]:
        assert not has_errors(findings), [f.message_en for f in findings]
    else:
        assert bad_ids == {f"{role}.tax_id" for role in want["tax_id_checks"]}


def test_amount_in_words_is_carried_for_the_uppercase_rule() -> None:
    [parsed] = parse_bytes((SAMPLES / "ofd" / "ofdrw-fapiao-shili.ofd").read_bytes())
    assert parsed.invoice is not None
    assert parsed.invoice.total_words == "肆仟肆佰肆拾玖圆整"
    [xml] = parse_bytes(
        (SAMPLES / "xml" / "fapiao-print-anyuan-26322000004478296111.xml").read_bytes()
    )
    assert xml.invoice is not None and xml.invoice.total_words == "贰万零陆佰柒拾圆整"
