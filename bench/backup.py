"""Backup figures on a large ledger: full backup, incremental after 1,000 changed invoices, restore.

The ledger (default 1,000,000 invoices, SQLite) is generated quickly with direct inserts through the
DB-API, not through import: one tenant; per invoice one line item, one original file (~0.7 KB), one
`invoice.imported` event with a valid hash chain and row_hash (so `audit verify` passes); creation
times spread over two years. Then 1,000 invoices are changed through `Ledger.write()` the way the
sync worker does (new authority_state + event), and the incremental backup is timed.

    .venv/bin/python bench/backup.py [--invoices N] [--dir DIR] [--reuse] [--pg URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import random
import shutil
import sqlite3
import sys
import time
from pathlib import Path

from sqlalchemy import select, update

from fapiao.backup.create import create_backup
from fapiao.backup.repo import Repository
from fapiao.backup.restore import restore
from fapiao.backup.targets import parse_target
from fapiao.codec import canonical_bytes
from fapiao.ledger import audit, schema
from fapiao.ledger.db import open_engine
from fapiao.ledger.store import GENESIS, Ledger, event_hash, row_hash

PASS = "bench passphrase"
TAX_ID = "91110108MA01ABCD2X"


def generate(path: Path, count: int) -> None:
    engine = open_engine(path)
    engine.dispose()
    rng = random.Random(7)
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous=OFF")
    start = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
    span = 730 * 86400
    cols = [c.name for c in schema.invoices.columns]
    inv_sql = f"INSERT INTO invoices ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    prev = GENESIS
    con.execute("BEGIN")
    t0 = start.isoformat(timespec="microseconds")
    con.execute("INSERT INTO tenants VALUES (1, ?, ?, ?)", (TAX_ID, "北京某某科技有限公司", t0))
    fields = [1, t0, "bench", 1, "tenant.added", "tenant", "1", "{}"]
    prev = event_hash(prev, fields)
    events = [(1, t0, "bench", 1, "tenant.added", "tenant", "1", "{}", GENESIS, prev)]
    batch_inv, batch_items, batch_blobs = [], [], []
    for n in range(count):
        inv_id, seq = n + 2, n + 2
        at = (start + dt.timedelta(seconds=span * n // count)).isoformat(timespec="microseconds")
        day = dt.date(2023, 1, 1) + dt.timedelta(days=730 * n // count)
        amount = rng.randrange(100, 10_000_000)
        tax = amount * 13 // 100
        number = f"2411{n % 10}{n:015d}"
        other = f"9131011{rng.randrange(10**10):010d}X"
        doc = {
            "kind": "digital_special",
            "code": "",
            "number": number,
            "issue_date": day.isoformat(),
            "seller": {"name": "北京某某科技有限公司", "tax_id": TAX_ID},
            "buyer": {"name": f"上海某某贸易有限公司{n % 997}", "tax_id": other},
            "amount": f"{amount / 100:.2f}",
            "tax": f"{tax / 100:.2f}",
            "total": f"{(amount + tax) / 100:.2f}",
            "items": [{"name": "*信息技术服务*软件开发", "amount": f"{amount / 100:.2f}"}],
        }
        doc_text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        original = doc_text.encode() + b"\n<!-- original file -->"
        sha = hashlib.sha256(original).hexdigest()
        row = {
            "id": inv_id,
            "tenant_id": 1,
            "identity_key": number,
            "direction": "issued",
            "kind": "digital_special",
            "code": "",
            "number": number,
            "issue_date": day,
            "seller_tax_id": TAX_ID,
            "seller_name": "北京某某科技有限公司",
            "buyer_tax_id": other,
            "buyer_name": doc["buyer"]["name"],
            "amount": amount,
            "tax": tax,
            "total": amount + tax,
            "status": "normal",
            "original_key": "",
            "source": "file",
            "authority_state": "uploaded",
            "content_hash": hashlib.sha256(doc_text.encode()).hexdigest(),
            "fingerprint": sha[:32],
            "doc": doc_text,
            "original_sha256": sha,
            "original_name": f"{number}.xml",
            "created_at": at,
            "updated_at": at,
        }
        payload = canonical_bytes({"row_hash": row_hash(row), "sha256": sha}).decode()
        fields = [seq, at, "bench", 1, "invoice.imported", "invoice", str(inv_id), payload]
        digest = event_hash(prev, fields)
        events.append((*fields, prev, digest))
        prev = digest
        row["issue_date"] = day.isoformat()
        batch_inv.append(tuple(row[c] for c in cols))
        batch_items.append(
            (inv_id, 1, "*信息技术服务*软件开发", "", "项", "1", "", amount, "0.13", tax)
        )
        batch_blobs.append((sha, len(original), original, at))
        if len(batch_inv) == 20_000 or n == count - 1:
            con.executemany("INSERT INTO blobs VALUES (?, ?, ?, ?)", batch_blobs)
            con.executemany(inv_sql, batch_inv)
            con.executemany(
                "INSERT INTO line_items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch_items
            )
            con.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", events)
            batch_inv, batch_items, batch_blobs, events = [], [], [], []
            print(f"  generated {n + 1:,} invoices", file=sys.stderr, end="\r")
    con.execute(
        "UPDATE ledger_head SET seq = ?, hash = ?, next_id = ? WHERE id = 1",
        (count + 1, prev, count + 2),
    )
    con.execute("COMMIT")
    con.close()
    print(file=sys.stderr)


def change_invoices(ledger: Ledger, count: int) -> None:
    inv = schema.invoices
    rng = random.Random(11)
    with ledger.engine.connect() as conn:
        top = conn.execute(select(inv.c.id).order_by(inv.c.id.desc()).limit(1)).scalar_one()
    ids = sorted(rng.sample(range(2, top + 1), count))
    with ledger.write() as tx:
        rows = tx.conn.execute(select(inv).where(inv.c.id.in_(ids))).all()
        for r in rows:
            row = dict(r._mapping) | {"authority_state": "confirmed", "updated_at": tx.now}
            tx.conn.execute(
                update(inv)
                .where(inv.c.id == r.id)
                .values(authority_state="confirmed", updated_at=tx.now)
            )
            tx.event("invoice.confirmed", "invoice", r.id, {"row_hash": row_hash(row)})


def mib(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--invoices", type=int, default=1_000_000)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/fapiao-bench-backup"))
    ap.add_argument("--reuse", action="store_true", help="keep an already generated ledger")
    ap.add_argument("--pg", help="also restore into this empty PostgreSQL database URL")
    ap.add_argument("--audit", action="store_true", help="run audit verify on the restored copy")
    args = ap.parse_args()
    base: Path = args.dir
    db = base / "ledger.sqlite"
    if not (args.reuse and db.exists()):
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True)
        t = time.monotonic()
        generate(db, args.invoices)
        print(
            f"generated {args.invoices:,} invoices by direct inserts in {time.monotonic() - t:.1f} s"
        )
    for stale in ("target", "restored.sqlite", "restored.sqlite-wal", "restored.sqlite-shm"):
        p = base / stale
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
    print(f"ledger file: {mib(db.stat().st_size)} (SQLite)")
    engine = open_engine(db)
    ledger = Ledger(engine, actor="bench")
    target = str(base / "target")

    t = time.monotonic()
    (full,) = create_backup(engine, [target], PASS)
    full_s = time.monotonic() - t
    assert full.ok, full.error
    print(
        f"full backup:        {full_s:7.2f} s  stored {mib(full.stored_bytes)} "
        f"(plain dump {mib(full.plain_bytes)}, {full.rows:,} rows, {full.segments_new} segments)"
    )

    change_invoices(ledger, 1000)
    t = time.monotonic()
    (inc,) = create_backup(engine, [target], PASS)
    inc_s = time.monotonic() - t
    assert inc.ok and inc.kind == "incremental", inc
    print(
        f"incremental (1,000 changed invoices): {inc_s:5.2f} s  stored {mib(inc.stored_bytes)} "
        f"= {100 * inc.stored_bytes / full.stored_bytes:.2f}% of the full backup "
        f"({inc.segments_new} segments re-read, {inc.segments_kept} kept)"
    )

    repo = Repository.open(parse_target(target), PASS)
    restored = base / "restored.sqlite"
    report = restore(repo, None, str(restored))
    print(f"full restore (SQLite): {report.seconds:6.2f} s  {report.rows:,} rows")
    if args.pg:
        report = restore(repo, None, args.pg)
        print(f"full restore (PostgreSQL): {report.seconds:6.2f} s  {report.rows:,} rows")
    if args.audit:
        t = time.monotonic()
        checked = audit.verify(open_engine(restored))
        print(f"audit verify on the restored copy: ok={checked.ok} in {time.monotonic() - t:.1f} s")
    print(
        "targets: incremental <= 2 s: "
        + ("met" if inc_s <= 2 else "MISSED")
        + f"; incremental small fraction of full: {inc.stored_bytes / full.stored_bytes:.2%}"
        + "; restore <= 60 s: "
        + ("met" if report.seconds <= 60 else "MISSED")
    )


if __name__ == "__main__":
    main()
