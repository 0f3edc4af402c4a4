"""The reconcile engine against an earlier revision of itself: the same findings, field for field.

    .venv/bin/python bench/reconcile_same.py [--rev REV] [--n N] [--pg URL] [--pg-n N]

The engine of revision REV (default: cf77856, the last one that compared in several statements)
is taken from git into a temporary package, and both engines reconcile the same generated pair:
a ledger of N invoices of one tenant (and a second tenant's invoices under the same keys, which
must not count) and the platform's list with every kind of difference planted (below). Each is run
with no period, a month, the month after it and a year, through DuckDB and, with --pg, in
PostgreSQL through both backends. Every finding (all its fields, in order), the counts and the
JSON form must be equal; the script prints the categories' sizes and exits 1 on any difference.

Planted, by i % 40: 0 only in the ledger, 1 only at the platform, 2 amount and total off, 3 tax
off, 4 a day later, 5 the counterparty's tax ID differs, 6 void at the platform, 7 红冲 at the
platform only, 8 red-flushed on both sides (the red invoices listed too), 9 red-flushed in the
ledger only, 10 listed twice, 11 listed three times with the first listing's amount off, 12 listed
twice and missing in the ledger, 13 another taxpayer's record, 14 forty days later, 15 void in the
ledger only, 16 a negative total at the platform, 17 amount and status both differ, 18 an older
(code-number) invoice listed twice with its date off. Every seventh invoice is an older one.
"""

from __future__ import annotations

import argparse
import atexit
import dataclasses
import datetime as dt
import importlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import Engine, text

ROOT = Path(__file__).resolve().parent.parent
HOME = "91110108MA0TL7K20Q"
OTHER = "91310115777631709K"
STRANGER = "91440300MA5F000000"
DAY0 = dt.date(2024, 1, 1)
PERIODS = ("", "2024-03", "2024-04", "2024")


def old_engine(rev: str) -> Any:
    """The engine (and the sources it reads with) of `rev`, as the package `fapiao_reconcile_old`."""
    where = Path(tempfile.mkdtemp(prefix="fapiao-old-engine-"))
    atexit.register(shutil.rmtree, where, ignore_errors=True)
    pkg = where / "fapiao_reconcile_old"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for name in ("engine", "sources"):
        source = subprocess.run(
            ["git", "show", f"{rev}:src/fapiao/reconcile/{name}.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        (pkg / f"{name}.py").write_text(
            source.replace("fapiao.reconcile.sources", "fapiao_reconcile_old.sources")
        )
    sys.path.insert(0, str(where))
    return importlib.import_module("fapiao_reconcile_old.engine")


def key_of(i: int, older: bool = False) -> tuple[str, str]:
    """(code, number): every seventh an older invoice."""
    if older or i % 7 == 0:
        return f"0{3100 + i % 50:04d}24{i % 1000:03d}11", f"{i % 100_000_000:08d}"
    return "", f"24{i:018d}"


def ident(code: str, number: str) -> str:
    return f"{code}-{number}" if code else number


def generate(n: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(ledger rows, the platform's rows) with the differences of the module's docstring."""
    ledger: list[dict[str, Any]] = []
    listed: list[dict[str, Any]] = []
    for i in range(1, n + 1):
        b = i % 40
        code, number = key_of(i, older=b == 18)
        issued = i % 2 == 0
        other = f"9131{i % 5000:014d}"
        amount = (i * 7919) % 10_000_000 + 100
        row = {
            "key": ident(code, number),
            "code": code,
            "number": number,
            "kind": "vat_electronic_normal" if code else "digital_special",
            "issue_date": DAY0 + dt.timedelta(days=i % 366),
            "seller_tax_id": HOME if issued else other,
            "seller_name": "本公司" if issued else f"对方{i % 5000}",
            "buyer_tax_id": other if issued else HOME,
            "buyer_name": f"对方{i % 5000}" if issued else "本公司",
            "amount": amount,
            "tax": amount * 13 // 100,
            "total": amount + amount * 13 // 100,
            "status": "normal",
            "platform_status": "正常",
            "original_key": "",
        }
        mine = dict(row)
        theirs = [dict(row)]
        if b == 0:
            theirs = []
        elif b == 1:
            mine = {}
        elif b == 2:
            theirs[0]["amount"] += 1
            theirs[0]["total"] += 1
        elif b == 3:
            theirs[0]["tax"] -= 1
            theirs[0]["total"] -= 1
        elif b == 4:
            theirs[0]["issue_date"] += dt.timedelta(days=1)
        elif b == 5:
            side = "buyer_tax_id" if issued else "seller_tax_id"
            theirs[0][side] = f"9144{i % 977:014d}"
        elif b == 6:
            theirs[0].update(status="void", platform_status="已作废")
        elif b == 7:
            theirs[0]["platform_status"] = "已红冲-全额"
        elif b in (8, 9):
            red_code, red_number = "", f"25{i:018d}"
            red = dict(row, key=ident(red_code, red_number), code=red_code, number=red_number)
            red.update(
                issue_date=row["issue_date"] + dt.timedelta(days=20),
                amount=-row["amount"],
                tax=-row["tax"],
                total=-row["total"],
                status="red",
                original_key=row["key"],
            )
            ledger.append(red)
            if b == 8:
                theirs[0]["platform_status"] = "已红冲-全额"
                theirs.append(dict(red, platform_status="正常"))
        elif b == 10:
            theirs.append(dict(row))
        elif b == 11:
            theirs[0]["amount"] += 5
            theirs += [dict(row), dict(row)]
        elif b == 12:
            mine = {}
            theirs.append(dict(row))
        elif b == 13:
            theirs[0].update(seller_tax_id=STRANGER, buyer_tax_id=OTHER)
        elif b == 14:
            theirs[0]["issue_date"] += dt.timedelta(days=40)
        elif b == 15:
            mine.update(status="void")
        elif b == 16:
            theirs[0].update(amount=-amount, tax=-row["tax"], total=-row["total"])
        elif b == 17:
            theirs[0].update(amount=amount + 100, total=row["total"] + 100, status="void")
            theirs[0]["platform_status"] = "已作废"
        elif b == 18:
            theirs[0]["issue_date"] -= dt.timedelta(days=3)
            theirs.append(dict(row))
        if mine:
            ledger.append(mine)
        listed += theirs
    # the list in an order of its own, as a platform's export would be
    listed.sort(key=lambda r: (r["issue_date"], r["number"][::-1]))
    return ledger, listed


def authority_table(listed: list[dict[str, Any]]) -> pa.Table:
    from fapiao.authority.export_table import EXPORT_SCHEMA

    rows = [
        dict(r, rn=n, source="电子发票服务平台", risk="正常", issuer="", remarks="")
        for n, r in enumerate(listed)
    ]
    return pa.Table.from_pylist(rows, schema=EXPORT_SCHEMA)


def fill_ledger(engine: Engine, ledger: list[dict[str, Any]]) -> tuple[int, int]:
    """The rows into the invoices table of tenant 1, and a second tenant's copies with other
    amounts under the same keys (every third row)."""
    from fapiao.ledger.store import Ledger

    store = Ledger(engine, actor="check")
    home, _ = store.add_tenant(tax_id=HOME, name="本公司")
    second, _ = store.add_tenant(tax_id=OTHER, name="另一公司")
    columns = (
        "id, tenant_id, identity_key, direction, kind, code, number, issue_date, seller_tax_id, "
        "seller_name, buyer_tax_id, buyer_name, amount, tax, total, status, original_key, source, "
        "authority_state, content_hash, fingerprint, doc, original_sha256, original_name, "
        "created_at, updated_at"
    )
    marks = ", ".join(f":{c.strip()}" for c in columns.split(","))
    rows = []
    for n, r in enumerate(ledger, start=1):
        for tenant, offset in ((home, 0), (second, 7)):
            if tenant == second and n % 3:
                continue
            rows.append(
                {
                    "id": n * 2 + (tenant == second),
                    "tenant_id": tenant,
                    "identity_key": r["key"],
                    "direction": "issued" if r["seller_tax_id"] == HOME else "received",
                    "kind": r["kind"],
                    "code": r["code"],
                    "number": r["number"],
                    "issue_date": r["issue_date"].isoformat(),
                    "seller_tax_id": r["seller_tax_id"],
                    "seller_name": r["seller_name"],
                    "buyer_tax_id": r["buyer_tax_id"],
                    "buyer_name": r["buyer_name"],
                    "amount": r["amount"] + offset,
                    "tax": r["tax"],
                    "total": r["total"] + offset,
                    "status": r["status"],
                    "original_key": r["original_key"],
                    "source": "file",
                    "authority_state": "local",
                    "content_hash": "",
                    "fingerprint": "",
                    "doc": "{}",
                    "original_sha256": None,
                    "original_name": "",
                    "created_at": "",
                    "updated_at": "",
                }
            )
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            for (name,) in conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'invoices'"
            ).fetchall():
                conn.exec_driver_sql(f"DROP TRIGGER {name}")
        else:
            conn.exec_driver_sql("ALTER TABLE invoices DISABLE TRIGGER USER")
        conn.execute(text(f"INSERT INTO invoices ({columns}) VALUES ({marks})"), rows)
        if engine.dialect.name != "sqlite":
            conn.exec_driver_sql("ANALYZE invoices")
    return int(home or 0), int(second or 0)


def outcome(result: Any) -> dict[str, Any]:
    """Everything a result says: counts, every finding with all its fields, in order, and JSON."""
    return {
        "counts": [result.ledger_count, result.authority_count, result.matched],
        "entries": {
            cat: [dataclasses.asdict(e) for e in entries] for cat, entries in result.entries.items()
        },
        "json": json.dumps(result.to_json(), ensure_ascii=False, sort_keys=True, default=str),
    }


def compare(engine: Engine, tenant: int, table: pa.Table, old: Any, label: str) -> bool:
    from fapiao.authority.records import period_range
    from fapiao.reconcile.engine import reconcile
    from fapiao.reconcile.sources import AuthorityRows, Scope

    same = True
    backends = ["duckdb"] + (["database"] if engine.dialect.name == "postgresql" else [])
    for period in PERIODS:
        lo, hi = period_range(period) if period else (None, None)
        for backend in backends:
            scope = Scope(tenant, HOME, "本公司", period, lo, hi)
            t0 = time.perf_counter()
            mine = outcome(reconcile(engine, scope, AuthorityRows(table), backend=backend))
            t1 = time.perf_counter()
            before = outcome(
                old.reconcile(engine, old.Scope(tenant, HOME, "本公司", period, lo, hi),
                              old.AuthorityRows(table), backend=backend)
            )  # fmt: skip
            t2 = time.perf_counter()
            ok = mine == before
            same = same and ok
            sizes = {cat[:12]: len(v) for cat, v in mine["entries"].items()}
            print(
                f"{label} {backend:8} period {period or '-':7}: {'same' if ok else 'DIFFERENT'} "
                f"counts {mine['counts']} {sizes} (now {t1 - t0:.1f} s, before {t2 - t1:.1f} s)"
            )
            if not ok:
                for part in ("counts", "json"):
                    if mine[part] != before[part]:
                        print(f"  {part} differs")
                for cat, entries in mine["entries"].items():
                    if entries != before["entries"][cat]:
                        print(f"  {cat}: now {len(entries)}, before {len(before['entries'][cat])}")
    return same


def main(argv: list[str]) -> int:
    from fapiao.ledger.db import open_engine

    ap = argparse.ArgumentParser()
    ap.add_argument("--rev", default="cf77856")
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--pg", default="", help="a PostgreSQL URL whose public schema may be replaced")
    ap.add_argument("--pg-n", type=int, default=20_000)
    args = ap.parse_args(argv)
    old = old_engine(args.rev)
    same = True
    with tempfile.TemporaryDirectory(prefix="fapiao-same-") as tmp:
        ledger, listed = generate(args.n)
        engine = open_engine(Path(tmp) / "ledger.sqlite")
        home, _ = fill_ledger(engine, ledger)
        same = compare(engine, home, authority_table(listed), old, f"sqlite {args.n:,}") and same
        engine.dispose()
    if args.pg:
        from sqlalchemy import create_engine

        admin = create_engine(args.pg.replace("postgresql://", "postgresql+psycopg://", 1))
        with admin.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA IF EXISTS reconcile_same CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA reconcile_same")
        admin.dispose()
        base = args.pg.replace("postgresql://", "postgresql+psycopg://", 1)
        url = base + ("&" if "?" in base else "?") + "options=-csearch_path%3Dreconcile_same"
        engine = open_engine(url)
        ledger, listed = generate(args.pg_n)
        home, _ = fill_ledger(engine, ledger)
        same = compare(engine, home, authority_table(listed), old, f"pg {args.pg_n:,}") and same
        engine.dispose()
        admin = create_engine(args.pg.replace("postgresql://", "postgresql+psycopg://", 1))
        with admin.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA reconcile_same CASCADE")
        admin.dispose()
    print("the same findings as before" if same else "FINDINGS DIFFER")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
