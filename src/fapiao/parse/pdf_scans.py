"""The scanned pages of one invoice (read by OCR, each to its own readings) joined into one.

A page read from its picture whose readings have no 发票号码 of their own (or the same one) and no
parties, but items, goes on the invoice of the page before it: its items are appended, and its
totals, when it prints them, are the invoice's. The invoice is then built again from the joined
readings. A helper module of the parse package (no `sniff`/`parse`).
"""

from __future__ import annotations

import re

from fapiao.parse import Parsed
from fapiao.parse.reading import Reads, build, complete_totals

_ITEM = re.compile(r"^items\[(\d+)\]\.(\w+)$")
_TOTALS = ("amount", "tax", "total", "total_words")


def _items(reads: Reads) -> int:
    return max((int(m.group(1)) for path in reads if (m := _ITEM.match(path))), default=0)


def _continues(prev: Reads, page: Reads) -> bool:
    """`page` goes on the invoice of `prev`: it has items, and either no identity of its own, or
    the same number, or (OCR reads a long number differently twice) the same parties while `prev`
    printed no 价税合计."""
    if _items(page) == 0:
        return False
    ids = ("seller.tax_id", "buyer.tax_id")
    if "number" not in page and not any(p in page for p in (*ids, "seller.name", "buyer.name")):
        return True
    number, before = page.get("number"), prev.get("number")
    if number is not None and before is not None and number.value == before.value:
        return True
    same = all(p in page and p in prev and page[p].value == prev[p].value for p in ids)
    total = prev.get("total")
    return same and (total is None or total.source == "derived")


def join(pages: list[tuple[int, Parsed]]) -> list[tuple[int, Parsed]]:
    """Consecutive OCR'd pages of one invoice as one Parsed (the first page's index)."""
    out: list[tuple[int, Parsed]] = []
    for index, parsed in pages:
        if (
            out
            and out[-1][1].fields
            and parsed.fields
            and _continues(out[-1][1].fields, parsed.fields)
        ):
            out[-1] = (out[-1][0], _append(out[-1][1], parsed))
        else:
            out.append((index, parsed))
    return out


def _append(first: Parsed, more: Parsed) -> Parsed:
    reads = dict(first.fields)
    shift = _items(reads)
    for path, read in more.fields.items():
        if m := _ITEM.match(path):
            reads[f"items[{int(m.group(1)) + shift}].{m.group(2)}"] = read
    if any(more.fields.get(key) and more.fields[key].source != "derived" for key in _TOTALS):
        for key in _TOTALS:
            current = reads.get(key)
            if key in more.fields and not (current and current.source == "qr"):
                reads[key] = more.fields[key]
            elif current is not None and current.source == "derived":
                del reads[key]
    complete_totals(reads)
    inv, findings = build(reads)
    kept = [f for f in first.findings if f.code == "source_mismatch"]
    return Parsed(inv, kept + findings, fields=reads)
