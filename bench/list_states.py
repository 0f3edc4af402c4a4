"""Listing pages with the capabilities' states (入账, 报销, 勾选, 红冲) on 1,000,000 invoices.

    .venv/bin/python bench/list_states.py [--invoices N]

1. Reuses (or builds, once) the SQLite ledger of `bench/api.py` (direct bulk inserts), copies it
   and gives it states by direct SQL: 90 % of received invoices booked, 20 claimed, 10 % selected
   for deduction, 1,000 red invoices linked to a blue one of their company.
2. Times `ledger.queries.page` (50 rows, the web's and the API's page) in CPU time per page, the
   mean of five after one warm-up: the plain page, the page with every state's columns, and
   filters on common and rare states, ledger-wide and narrowed to a company and month.
3. Prints each case's query plan (SQLite's EXPLAIN QUERY PLAN) with `--plan`.
Target: every page under 50 ms of CPU.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import api
from fapiao.ledger import queries
from fapiao.ledger.db import open_engine
from fapiao.ledger.listing import Listing

ALL = ("all",)


def give_states(db: Path) -> None:
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA synchronous=OFF")
    con.execute("BEGIN")
    con.execute(
        "INSERT INTO bookings SELECT id, tenant_id, '记-' || id, '2025-01-01', 'bench' "
        "FROM invoices WHERE direction = 'received' AND id % 10 <> 0"
    )
    con.execute(
        "INSERT INTO expense_claims SELECT id, id, tenant_id, identity_key, identity_key, "
        "'BX-' || id, '张三', 'x', 'bench', '', '' FROM invoices "
        "WHERE direction = 'received' AND status = 'normal' ORDER BY id LIMIT 20"
    )
    con.execute(
        "INSERT INTO deduct_selections SELECT id, tenant_id, substr(issue_date, 1, 7), 'deduct', "
        "'', 'x', 'bench' FROM invoices "
        "WHERE direction = 'received' AND status = 'normal' AND id % 10 = 3"
    )
    reds = con.execute("SELECT id, tenant_id FROM invoices WHERE status = 'red' LIMIT 1000")
    for red, tenant in reds.fetchall():
        blue = con.execute(
            "SELECT identity_key FROM invoices WHERE rowid < ? AND rowid > ? - 500 "
            "AND tenant_id = ? AND status = 'normal' ORDER BY rowid DESC LIMIT 1",
            (red, red, tenant),
        ).fetchone()
        if blue:
            con.execute("UPDATE invoices SET original_key = ? WHERE id = ?", (blue[0], red))
    con.execute("COMMIT")
    con.execute("ANALYZE")
    con.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--invoices", type=int, default=1_000_000)
    ap.add_argument("--plan", action="store_true")
    args = ap.parse_args()
    api.OUT.mkdir(parents=True, exist_ok=True)
    base = api.OUT / f"api-bulk-{args.invoices}.sqlite"
    if not base.exists():
        print(f"building {base} ({args.invoices:,} invoices, once) …", flush=True)
        api.build(base, args.invoices)
    db = api.OUT / f"states-{args.invoices}.sqlite"
    if not db.exists():
        shutil.copy(base, db)
        open_engine(db).dispose()  # the newest migrations (red2's index)
        give_states(db)
    engine = open_engine(db)
    con = sqlite3.connect(db)
    tenants = [r[0] for r in con.execute("SELECT id FROM tenants ORDER BY id")]
    two = frozenset(tenants[:2])
    month = dict(tenant=tenants[0], period="2025-06", include=ALL)
    cases = [
        ("plain page, every tenant", Listing(), None),
        ("every state's columns", Listing(include=ALL), None),
        ("columns, 2 tenants merged", Listing(include=ALL), two),
        ("unbooked (10 % of received)", Listing(states=("unbooked",), include=ALL), None),
        ("booked (90 %)", Listing(states=("booked",), include=ALL), None),
        ("selected (10 %)", Listing(states=("selected",), include=ALL), None),
        ("red_full (1,000 reds)", Listing(states=("red_full",), include=ALL), None),
        ("claimed (20 invoices)", Listing(states=("claimed",), include=ALL), None),
        ("company+month: claimed", Listing(states=("claimed",), **month), two),
        ("company+month: unbooked", Listing(states=("unbooked",), **month), two),
    ]
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"{args.invoices:,} invoices; load average {' '.join(load)}")
    for name, q, scope in cases:
        queries.page(engine, q, scope)
        t0 = time.process_time()
        for _ in range(5):
            rows, _ = queries.page(engine, q, scope)
        cpu = (time.process_time() - t0) / 5 * 1000
        print(f"  {name:32s} {len(rows):3d} rows  {cpu:7.1f} ms CPU")
        if args.plan:
            st = queries._statement(engine, q, scope, q.limit + 1)  # as the page ran it
            for r in con.execute("EXPLAIN QUERY PLAN " + st.sql, st.params):
                print("      ", r[3])
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
