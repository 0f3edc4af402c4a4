"""Insight beside a listing: each invoice's category and latest 查验, and filters on them.

Works on the rows `ledger.queries.list_invoices` yields (canonical JSON with `id`), in batches, so a
listing stays a stream."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from fapiao.insight import facts
from fapiao.insight.verify import latest
from fapiao.ledger.store import Ledger

VERIFICATION_FILTERS = ("match", "mismatch", "not_found", "unverified")


def annotate(
    ledger: Ledger,
    rows: Iterable[dict[str, Any]],
    *,
    category: str | None = None,
    verification: str | None = None,
    batch: int = 1000,
) -> Iterator[dict[str, Any]]:
    facts.refresh(ledger)
    it = iter(rows)
    while True:
        chunk = list(islice(it, batch))
        if not chunk:
            return
        ids = [int(r["id"]) for r in chunk]
        cats = facts.categories_of(ledger, ids)
        checks = latest(ledger.engine, ids)
        for row in chunk:
            i = int(row["id"])
            c = cats.get(i, {})
            row["category"] = c.get("category", "")
            lines = c.get("lines", {})
            for n, item in enumerate(row.get("items", ()), start=1):
                item["category"] = lines.get(n, "")
            v = checks.get(i)
            row["verification"] = (
                {"result": v["result"], "fields": v["fields"], "at": v["at"]} if v else None
            )
            if category and row["category"] != category:
                continue
            if verification:
                got = v["result"] if v else "unverified"
                if got not in ("match", "mismatch", "not_found"):
                    got = "unverified"
                if got != verification:
                    continue
            yield row
