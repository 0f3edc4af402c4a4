"""Import throughput: canonical JSON files through parse, validation, dedupe, the ledger and the
audit chain, on SQLite and PostgreSQL, at growing batch sizes, with the importer's peak memory.

    python bench/ingest.py [--sizes 1000,10000,50000] [--no-pg|--no-sqlite] [--corpus DIR --tax-id ID]

Each run is a fresh process (so peak RSS is the importer's own) importing a folder of one-invoice
JSON files into an empty ledger, the search index caught up at the end (as `fapiao import` does);
the figure is invoices imported per second of wall time, with the CPU seconds of the importer and
of its parser process (the second process parses while the first writes). Beside it, measured in
the same run on the
same files: the bare limit, reading the files and inserting them raw (name and bytes, one table,
the same batch per transaction and the ledger's durability settings; COPY on PostgreSQL). The
ratio of the two is the figure to watch when the machine is shared. `--corpus DIR --tax-id ID`
imports a folder made before (a large corpus takes long to write) instead of writing one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from fapiao.codec import invoice_to_json
from fapiao_dev.synth import InvoiceFactory

PG = os.environ.get("FAPIAO_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def make_corpus(folder: Path, count: int) -> str:
    factory = InvoiceFactory(seed=count)
    for n in range(count):
        sub = folder / f"{n // 1000:04d}"
        if n % 1000 == 0:
            sub.mkdir(parents=True)
        (sub / f"{n:07d}.json").write_text(
            json.dumps(invoice_to_json(factory.invoice()), ensure_ascii=False), encoding="utf-8"
        )
    return factory.home.tax_id


CHILD = """
import sys, time, resource
from fapiao.ingest import import_paths
from fapiao.ledger.db import open_engine
from fapiao.ledger import search_index
from fapiao.ledger.store import Ledger
db, folder, tax_id = sys.argv[1:4]
ledger = Ledger(open_engine(db), actor="bench")
ledger.add_tenant(tax_id=tax_id, name="基准测试公司")
start = time.perf_counter()
cpu0 = time.process_time()
summary = import_paths(ledger, [folder], keep=False)
search_index.catch_up(ledger.engine)
elapsed = time.perf_counter() - start
cpu = time.process_time() - cpu0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # the parser process, ended by now
print(summary.counts.get("imported", 0), elapsed, rss, cpu, kids.ru_utime + kids.ru_stime)
"""


RAW = """
import os, sys, time
from fapiao.ingest import file_names
from fapiao.ledger.db import open_engine
db, folder = sys.argv[1:3]
engine = open_engine(db)  # the ledger's connection settings (WAL, synchronous=FULL on SQLite)
pg = engine.dialect.name == "postgresql"
with engine.begin() as conn:
    conn.exec_driver_sql(
        "CREATE TABLE raw_files (name TEXT PRIMARY KEY, data " + ("BYTEA" if pg else "BLOB") + ")"
    )
start = time.perf_counter()
cpu0 = time.process_time()
names = file_names([folder])
count = 0
while True:
    batch = [(str(p), p.read_bytes()) for _, p in zip(range(2000), names)]
    if not batch:
        break
    count += len(batch)
    with engine.begin() as conn:
        if pg:
            driver = conn.connection.dbapi_connection
            with driver.cursor() as cur, cur.copy("COPY raw_files (name, data) FROM STDIN") as cp:
                for row in batch:
                    cp.write_row(row)
        else:
            conn.exec_driver_sql("INSERT INTO raw_files (name, data) VALUES (?, ?)", batch)
print(count, time.perf_counter() - start, 0, time.process_time() - cpu0, 0.0)
"""


Run = tuple[int, float, int, float, float]  # invoices, seconds, peak RSS KiB, CPU s, parser CPU s


def run(db: str, folder: Path, tax_id: str, script: str = CHILD) -> Run:
    out = subprocess.run(
        [sys.executable, "-c", script, db, str(folder), tax_id],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return int(out[0]), float(out[1]), int(out[2]), float(out[3]), float(out[4])


def pg_schema() -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    eng = create_engine(PG.replace("postgresql://", "postgresql+psycopg://", 1))
    with eng.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    eng.dispose()
    url = (
        PG.replace("postgresql://", "postgresql+psycopg://", 1)
        + f"?options=-csearch_path%3D{schema}"
    )
    return url, schema


def drop_schema(schema: str) -> None:
    eng = create_engine(PG.replace("postgresql://", "postgresql+psycopg://", 1))
    with eng.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    eng.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,50000")
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--corpus", type=Path, help="a folder of canonical JSON files made before")
    ap.add_argument("--tax-id", help="with --corpus: the tenant whose invoices they are")
    args = ap.parse_args()
    print(
        f"{'store':<10} {'invoices':>9} {'seconds':>8} {'invoices/s':>11} {'client CPU s':>13} "
        f"{'parser CPU s':>13} {'peak RSS MiB':>13} {'raw insert/s':>13} {'ratio':>6}   load",
        flush=True,
    )
    names = ([] if args.no_sqlite else ["sqlite"]) + ([] if args.no_pg else ["postgresql"])
    with tempfile.TemporaryDirectory() as tmp:
        if args.corpus:
            count = sum(len(files) for _, _, files in os.walk(args.corpus))
            for name in names:
                report(name, tmp, count, args.corpus, args.tax_id)
            return
        for size in (int(s) for s in args.sizes.split(",")):
            folder = Path(tmp) / f"corpus{size}"
            tax_id = make_corpus(folder, size)
            for name in names:
                report(name, tmp, size, folder, tax_id)
            shutil.rmtree(folder)


def report(name: str, tmp: str, size: int, folder: Path, tax_id: str) -> None:
    n, secs, rss_kib, cpu, parser_cpu = measure(name, tmp, size, folder, tax_id, CHILD)
    raw_n, raw_secs, _, _, _ = measure(name, tmp, size, folder, tax_id, RAW)
    load = os.getloadavg()[0]
    print(
        f"{name:<10} {n:>9} {secs:>8.2f} {n / secs:>11.0f} {cpu:>13.2f} {parser_cpu:>13.2f} "
        f"{rss_kib / 1024:>13.0f} {raw_n / raw_secs:>13.0f} "
        f"{(n / secs) / (raw_n / raw_secs):>6.2f}   {load:.1f}",
        flush=True,
    )


def measure(name: str, tmp: str, size: int, folder: Path, tax_id: str, script: str) -> Run:
    """One run of `script` into a fresh database of its own."""
    if name == "sqlite":
        db = Path(tmp) / f"bench{size}-{uuid.uuid4().hex[:6]}.sqlite"
        try:
            return run(str(db), folder, tax_id, script)
        finally:
            for extra in ("", "-wal", "-shm"):
                Path(f"{db}{extra}").unlink(missing_ok=True)
    url, schema = pg_schema()
    try:
        return run(url, folder, tax_id, script)
    finally:
        drop_schema(schema)


if __name__ == "__main__":
    main()
