"""Listing rows as flat spreadsheet rows: one definition for `list --csv` and the web's CSV/xlsx export.

The values are plain; the writers in `fapiao.sheets` keep formula-like text (a party name such as
`=HYPERLINK(…)`) from becoming a formula.
"""

from __future__ import annotations

from typing import Any

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
    return [merged.get(c, "") for c in columns]
