"""Field-by-field scoring of parse output against an expected JSON, the same way for the real
samples and the generated corpus: the core fields, both parties and every item's name, rate,
amount and tax. A file that could not be fully read still counts the fields it did read
(`Parsed.fields`), so the figure is what a clerk would find filled in. Whitespace is ignored
(a wrapped name may be joined with or without a space)."""

from __future__ import annotations

from typing import Any

from fapiao.codec import invoice_to_json
from fapiao.parse import parse_bytes

CORE = ("kind", "code", "number", "issue_date", "amount", "tax", "total", "check_code")
ITEM = ("name", "tax_rate", "amount", "tax")
Wrong = tuple[str, Any, Any]  # field, wanted, got


def expected_fields(want: dict[str, Any]) -> dict[str, Any]:
    fields = {key: want.get(key) for key in CORE}
    for role in ("seller", "buyer"):
        for key in ("name", "tax_id"):
            fields[f"{role}.{key}"] = want[role][key]
    for n, item in enumerate(want["items"]):
        for key in ITEM:
            fields[f"items[{n}].{key}"] = item[key]
    return fields


def lookup(doc: Any, path: str) -> Any:
    for part in path.replace("]", "").replace("[", ".").split("."):
        if isinstance(doc, list):
            index = int(part)
            doc = doc[index] if index < len(doc) else None
        elif isinstance(doc, dict):
            doc = doc.get(part)
        else:
            return None
    return doc


def _norm(value: Any) -> str | None:
    return None if value is None else "".join(str(value).split())


def parsed_document(data: bytes) -> dict[str, Any]:
    """What the parser made of a file: the invoice's canonical JSON, else the fields it read."""
    parsed = parse_bytes(data)[0]
    if parsed.invoice is not None:
        return invoice_to_json(parsed.invoice)
    from fapiao.parse.reading import document

    return document(parsed.fields)


def compare(got: dict[str, Any], want: dict[str, Any]) -> tuple[int, list[Wrong]]:
    """(fields counted, the wrong ones)."""
    fields = expected_fields(want)
    wrong = [(k, v, lookup(got, k)) for k, v in fields.items() if _norm(lookup(got, k)) != _norm(v)]
    return len(fields), wrong


def score_real(data: bytes, want: dict[str, Any]) -> tuple[int, list[Wrong]]:
    return compare(parsed_document(data), want)
