"""Every real sample in tests/data/samples (origin in SOURCES.tsv) against its expected JSON.

The structured formats (XML, OFD) must parse exactly, findings included. The printed ones (PDF,
scans) are judged like `bench/real_samples.py`: fields right per format and files whole, which
must not fall below FLOORS (raise them as the readers improve)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from fapiao.codec import invoice_to_json
from fapiao.findings import has_errors
from fapiao.parse import parse_bytes
from fapiao.validate import Context, validate
from tests.corpus.score import score_real

# format: (share of fields right, files whole) that the current readers reach at least.
FLOORS = {
    "pdf": (1.0, 8),  # every real PDF whole
    "scan": (
        0.99,
        8,
    ),  # one bracket in a dot-matrix photo: half-width printed, OCR reads full-width
}
EXACT = ("xml", "ofd")

SAMPLES = Path(__file__).parent / "data" / "samples"
EXPECTED = sorted(SAMPLES.glob("**/*.expected.json"))
CORE = ("kind", "code", "number", "issue_date", "seller", "buyer", "amount", "tax", "total")
CTX = Context(today=dt.date(2030, 1, 1))


def _source(expected: Path) -> Path:
    return expected.with_name(expected.name.removesuffix(".expected.json"))


def _core(doc: dict) -> dict:
    out = {key: doc[key] for key in (*CORE, "check_code")}
    out["items"] = [{k: i[k] for k in ("name", "tax_rate", "amount", "tax")} for i in doc["items"]]
    return out


def test_samples_are_present() -> None:
    by_format = {fmt: [p for p in EXPECTED if p.parent.name == fmt] for fmt in (*EXACT, *FLOORS)}
    assert {fmt: len(paths) for fmt, paths in by_format.items()} == {
        "xml": 3,
        "ofd": 6,
        "pdf": 8,
        "scan": 9,
    }
    listed = (SAMPLES / "SOURCES.tsv").read_text(encoding="utf-8")
    for path in EXPECTED:
        assert _source(path).exists()
        assert str(_source(path).relative_to(SAMPLES)) in listed


@pytest.mark.parametrize(
    "expected",
    [p for p in EXPECTED if p.parent.name in EXACT],
    ids=lambda p: p.name.removesuffix(".expected.json"),
)
def test_structured_sample_parses_exactly(expected: Path) -> None:
    want = json.loads(expected.read_text(encoding="utf-8"))
    [parsed] = parse_bytes(_source(expected).read_bytes())
    assert parsed.invoice is not None, [f.message_en for f in parsed.findings]
    assert parsed.findings == []  # every source inside the file agrees
    assert _core(invoice_to_json(parsed.invoice)) == _core(want)
    findings = validate(parsed.invoice, CTX)
    bad_ids = {f.field for f in findings if f.code == "tax_id_invalid"}
    if want["valid_tax_ids"]:
        assert not has_errors(findings), [f.message_en for f in findings]
    else:
        assert bad_ids == {f"{role}.tax_id" for role in want["tax_id_checks"]}


@pytest.mark.parametrize("fmt", sorted(FLOORS))
def test_printed_samples_meet_the_floor(fmt: str) -> None:
    right = fields = whole = 0
    misses: list[str] = []
    for expected in (p for p in EXPECTED if p.parent.name == fmt):
        want = json.loads(expected.read_text(encoding="utf-8"))
        total, wrong = score_real(_source(expected).read_bytes(), want)
        right, fields, whole = right + total - len(wrong), fields + total, whole + (not wrong)
        misses += [f"{expected.name}: {key}" for key, _, _ in wrong]
    share_floor, whole_floor = FLOORS[fmt]
    assert right / fields >= share_floor, (f"{right}/{fields}", misses)
    assert whole >= whole_floor, misses


def test_amount_in_words_is_carried_for_the_uppercase_rule() -> None:
    [parsed] = parse_bytes((SAMPLES / "ofd" / "ofdrw-fapiao-shili.ofd").read_bytes())
    assert parsed.invoice is not None
    assert parsed.invoice.total_words == "肆仟肆佰肆拾玖圆整"
    [xml] = parse_bytes(
        (SAMPLES / "xml" / "fapiao-print-anyuan-26322000004478296111.xml").read_bytes()
    )
    assert xml.invoice is not None and xml.invoice.total_words == "贰万零陆佰柒拾圆整"
