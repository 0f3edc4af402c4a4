"""Real 数电票 (PDFs and renders, tests/data/real/digital, origin in SOURCES.tsv) parse whole: every
core field, both parties and every item (name, rate, amount, tax) as their expected JSON says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fapiao.codec import invoice_to_json
from fapiao.parse import parse_bytes

HERE = Path(__file__).parent / "data" / "real" / "digital"
EXPECTED = sorted(HERE.glob("*.expected.json"))
CORE = ("kind", "code", "number", "issue_date", "amount", "tax", "total", "check_code")


def _fields(doc: dict[str, Any]) -> dict[str, Any]:
    out = {key: doc[key] for key in CORE}
    for role in ("seller", "buyer"):
        out[role] = {key: doc[role][key] for key in ("name", "tax_id")}
    out["items"] = [
        {k: "".join(str(i[k]).split()) for k in ("name", "tax_rate", "amount", "tax")}
        for i in doc["items"]
    ]
    return out


def test_every_sample_is_listed_with_its_origin() -> None:
    assert len(EXPECTED) == 8
    listed = (HERE / "SOURCES.tsv").read_text(encoding="utf-8")
    for path in EXPECTED:
        assert path.name.removesuffix(".expected.json") in listed


@pytest.mark.parametrize("expected", EXPECTED, ids=lambda p: p.name.removesuffix(".expected.json"))
def test_real_digital_invoice_parses_whole(expected: Path) -> None:
    want = json.loads(expected.read_text(encoding="utf-8"))
    source = expected.with_name(expected.name.removesuffix(".expected.json"))
    [parsed] = parse_bytes(source.read_bytes())
    assert parsed.invoice is not None, [f.message_en for f in parsed.findings]
    assert [f for f in parsed.findings if f.is_error] == []
    assert _fields(invoice_to_json(parsed.invoice)) == _fields(want)
