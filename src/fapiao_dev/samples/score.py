"""Field-by-field comparison of a parsed invoice with its expected JSON, for the corpus test and
the parse benchmark. Line-item fields count once per line (`items.amount` …)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

HEADER_FIELDS = (
    "kind",
    "code",
    "number",
    "issue_date",
    "seller.name",
    "seller.tax_id",
    "buyer.name",
    "buyer.tax_id",
    "amount",
    "tax",
    "total",
    "check_code",
    "status",
    "original",
    "remarks",
    "issuer",
)
ITEM_FIELDS = ("name", "spec", "unit", "quantity", "unit_price", "amount", "tax_rate", "tax")


def flatten(doc: dict[str, Any] | None) -> dict[str, Any]:
    """Canonical JSON -> {field: value}, items as items[N].field."""
    if not doc:
        return {}
    out: dict[str, Any] = {}
    for name in HEADER_FIELDS:
        head, _, tail = name.partition(".")
        value = doc.get(head)
        out[name] = (value or {}).get(tail) if tail else value
    for n, item in enumerate(doc.get("items") or []):
        for name in ITEM_FIELDS:
            out[f"items[{n}].{name}"] = item.get(name)
    return out


@dataclass
class Score:
    """Counts of exact fields per field name (items folded into `items.NAME`)."""

    right: Counter[str] = field(default_factory=Counter)
    total: Counter[str] = field(default_factory=Counter)
    wrong: list[tuple[str, str, Any, Any]] = field(default_factory=list)  # label, field, got, want

    def add(self, label: str, expected: dict[str, Any], got: dict[str, Any] | None) -> None:
        want, have = flatten(expected), flatten(got)
        for key, value in want.items():
            name = key.split("].", 1)[1] if key.startswith("items[") else key
            name = f"items.{name}" if key.startswith("items[") else name
            self.total[name] += 1
            if have.get(key) == value:
                self.right[name] += 1
            else:
                self.wrong.append((label, key, have.get(key), value))

    @property
    def accuracy(self) -> float:
        total = sum(self.total.values())
        return sum(self.right.values()) / total if total else 1.0

    def per_field(self) -> dict[str, float]:
        return {name: self.right[name] / count for name, count in sorted(self.total.items())}
