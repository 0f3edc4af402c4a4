"""The review queue: re-runs over a folder with rejects, and accepting from the queue.

    python bench/review.py [--good 2000] [--bad 440] [--runs 3] [--db URL]

Imports a folder of good invoices and of rejects (canonical JSON with 价税合计 missing) `--runs`
times, printing the queue's size after each run (it stays at the number of rejected files) and
each run's wall time; then accepts every item with the missing total set, through the import
path, and prints accepts per second.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from fapiao.codec import invoice_to_json
from fapiao.ingest import import_paths
from fapiao.ledger import audit, schema
from fapiao.ledger.db import open_engine
from fapiao.ledger.store import Ledger
from fapiao.review.queue import list_items
from fapiao.review.resolve import accept
from fapiao_dev.synth import InvoiceFactory


def make(folder: Path, good: int, bad: int) -> tuple[InvoiceFactory, dict[str, str]]:
    factory = InvoiceFactory(seed=7)
    totals: dict[str, str] = {}
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(good + bad):
        doc = invoice_to_json(factory.invoice())
        if n >= good:
            totals[doc["number"]] = doc.pop("total")
        name = f"{'bad' if n >= good else 'ok'}-{n:06d}.json"
        (folder / name).write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return factory, totals


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--good", type=int, default=2000)
    ap.add_argument("--bad", type=int, default=440)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--db", default="")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        factory, totals = make(folder, args.good, args.bad)
        engine = open_engine(args.db or f"sqlite:///{tmp}/ledger.sqlite")
        ledger = Ledger(engine, actor="bench")
        ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
        for run in range(1, args.runs + 1):
            start = time.perf_counter()
            summary = import_paths(ledger, [folder])
            took = time.perf_counter() - start
            with engine.connect() as conn:
                rows = conn.scalar(select(func.count()).select_from(schema.quarantine))
            print(
                f"run {run}: {took:.2f} s, imported {summary.counts.get('imported', 0)}, "
                f"duplicates {summary.counts.get('duplicate', 0)}, "
                f"rejected {summary.counts.get('rejected', 0)}, queue items {rows}"
            )
        items = list_items(engine, limit=1_000_000)
        start = time.perf_counter()
        done = 0
        for item in items:
            total = totals[item.reads["number"].value]
            done += accept(ledger, item.id, {"total": (total, "user")}).ok
        took = time.perf_counter() - start
        print(f"accepted {done}/{len(items)} in {took:.2f} s: {done / took:.0f} accepts/s")
        print(f"audit chain intact: {audit.verify(engine).ok}")
        engine.dispose()


if __name__ == "__main__":
    main()
