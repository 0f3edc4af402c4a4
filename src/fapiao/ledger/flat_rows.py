"""Listing rows as flat spreadsheet rows: one definition for `list --csv` and the web's CSV/xlsx export.

A cell that starts like a formula (=, +, -, @) and is not an amount gets a leading apostrophe, so a
spreadsheet shows a party name such as `=HYPERLINK(…)` as text instead of running it.
"""

from __future__ import annotations

from typing import Any

from fapiao.money import MoneyError, parse_yuan

COLUMNS = [
    "id",
    "direction",
    "kind",
    "code",
    "number",
    "issue_date",
    "seller_name",
    "seller_tax_id",
    "buyer_name",
    "buyer_tax_id",
    "amount",
    "tax",
    "total",
    "status",
    "authority_state",
    "source",
]


def flat(row: dict[str, Any], columns: list[str] = COLUMNS) -> list[Any]:
    """A listing row (canonical invoice with nested parties) as cells in `columns` order; a column the
    row lacks is empty."""
    merged = row | {
        "seller_name": row["seller"]["name"],
        "seller_tax_id": row["seller"]["tax_id"],
        "buyer_name": row["buyer"]["name"],
        "buyer_tax_id": row["buyer"]["tax_id"],
    }
    verification = merged.get("verification")
    if isinstance(verification, dict):
        merged["verification"] = verification.get("result", "")
    return [safe_cell(merged.get(c, "")) for c in columns]


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") and not _is_amount(value):
        return "'" + value
    return value


def _is_amount(text: str) -> bool:
    try:
        parse_yuan(text)
    except MoneyError:
        return False
    return True
