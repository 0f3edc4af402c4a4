"""The canonical JSON's plain form is read by a short path (`codec.plain_invoice`); every other
object by the field-by-field reader. The short path must give exactly the invoice the reader gives,
and must stand aside whenever the reader would find anything."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fapiao.codec import (
    _any_date,
    _read_invoice,
    invoice_from_json,
    invoice_to_json,
    parse_date,
    plain_invoice,
)
from fapiao_dev.synth import InvoiceFactory


def _documents() -> list[dict[str, Any]]:
    factory = InvoiceFactory(seed=7)
    blues = [factory.invoice() for _ in range(40)]
    return [invoice_to_json(inv) for inv in blues + [factory.red_of(b) for b in blues[:5]]]


DOCS = _documents()

ODD_VALUES = st.sampled_from(
    [
        None, "", " ", 0, 5, 1.5, True, [], {}, ["x"], {"name": "x"},
        " 113.00", "113.00 ", "113.001", "1,234.00", "¥113.00", "１１３.00", "-0.01", "-0", "1e3",
        "113", "113.5", "0.13", "13%", "免税", "***", "abc",
        "2024-11-20", " 2024-11-20", "2024-11-20 10:00:00", "20241120", "2024/11/20",
        "2024年11月20日", "2024-13-01", "2024-02-30", "２０２４-11-20",
        "digital_normal", " digital_normal ", "vat_special", "normal", "red", "void", "Normal",
        " 名称 ", "91110108463624987g", "\u3000全角空格\u3000",
    ]
)  # fmt: skip


def _paths(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Every place in a document a value can be changed or taken away."""
    out: list[tuple[Any, ...]] = [(key,) for key in doc]
    out += [(k,) for k in ("total_words", "original", "absent")]
    parties = [p for p in ("seller", "buyer") if isinstance(doc.get(p), dict)]
    out += [(party, key) for party in parties for key in ("name", "tax_id")]
    items = doc.get("items")
    for n, item in enumerate(items if isinstance(items, list) else []):
        out += [("items", n, key) for key in (item if isinstance(item, dict) else [])]
        out.append(("items", n))
    return out


def _changed(doc: dict[str, Any], path: tuple[Any, ...], value: Any, drop: bool) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    *parents, last = path
    target: Any = doc
    for step in parents:
        target = target[step]
    if drop and isinstance(target, dict):
        target.pop(last, None)
    else:
        target[last] = value
    return doc


def test_the_canonical_form_takes_the_short_path_to_the_same_invoice() -> None:
    for doc in DOCS:
        plain = plain_invoice(doc)
        read, findings = _read_invoice(doc)
        if doc["original"] is not None:  # a red invoice names its blue one: left to the reader
            assert plain is None
            continue
        assert findings == []
        assert plain is not None and plain == read
        assert invoice_to_json(plain) == doc


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_any_other_object_is_read_as_the_field_by_field_reader_reads_it(data: Any) -> None:
    doc = data.draw(st.sampled_from(DOCS))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(doc)))
        doc = _changed(doc, path, data.draw(ODD_VALUES), data.draw(st.booleans()))
    plain = plain_invoice(doc)
    read, findings = _read_invoice(doc)
    if plain is not None:
        assert findings == [] and plain == read
    assert invoice_from_json(doc) == (read, findings)


ISO_LIKE = st.dates().map(dt.date.isoformat) | st.from_regex(
    r"\A[0-9０-９]{4}-[0-9０-９]{1,2}-[0-9０-９ ]{1,3}\Z"
)


@given(ISO_LIKE)
def test_a_date_in_the_iso_form_reads_as_any_other_text_reads(text: str) -> None:
    """`parse_date`'s shortcut for "YYYY-MM-DD" gives what the general reading gives."""
    assert parse_date(text) == _any_date(text)
