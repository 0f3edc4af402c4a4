"""One invoice's insight, for `fapiao show` and the web page: category and every 查验."""

from __future__ import annotations

from typing import Any

from fapiao.insight import facts
from fapiao.insight.verify import history, latest
from fapiao.ledger.store import Ledger


def insight_of(ledger: Ledger, invoice_id: int) -> dict[str, Any]:
    facts.refresh(ledger)
    cat = facts.categories_of(ledger, [invoice_id]).get(invoice_id, {})
    last = latest(ledger.engine, [invoice_id]).get(invoice_id)
    return {
        "category": cat.get("category", ""),
        "category_source": cat.get("category_source", ""),
        "line_categories": {str(k): v for k, v in cat.get("lines", {}).items()},
        "verification": last,
        "verifications": history(ledger.engine, invoice_id),
    }
