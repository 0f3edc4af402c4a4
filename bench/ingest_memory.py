"""Import memory with large files: twelve 45 MB files (six canonical JSON invoices padded with
spaces, six files of random bytes that are quarantined) into an empty SQLite ledger; prints the
importer's peak RSS. Memory must stay near one batch budget plus one file, not grow with the run.

    python bench/ingest_memory.py [--files 12] [--mib 45]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from fapiao.codec import invoice_to_json
from fapiao_dev.synth import InvoiceFactory

CHILD = """
import sys, time, resource
from fapiao.ingest import import_paths
from fapiao.ledger.db import open_engine
from fapiao.ledger.store import Ledger
db, folder, tax_id = sys.argv[1:4]
ledger = Ledger(open_engine(db), actor="bench")
ledger.add_tenant(tax_id=tax_id, name="基准测试公司")
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
summary = import_paths(ledger, [folder])
elapsed = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(len(summary.imported), len(summary.rejected), elapsed, base, rss)
"""


def make_files(folder: Path, count: int, mib: int) -> str:
    factory = InvoiceFactory(seed=45)
    size = mib * 1024 * 1024
    for n in range(count):
        path = folder / f"{n:02d}.{'json' if n % 2 == 0 else 'bin'}"
        if n % 2 == 0:
            text = json.dumps(invoice_to_json(factory.invoice()), ensure_ascii=False).encode()
            path.write_bytes(text + b" " * (size - len(text)))
        else:
            path.write_bytes(os.urandom(size))
    return factory.home.tax_id


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=12)
    ap.add_argument("--mib", type=int, default=45)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        tax_id = make_files(folder, args.files, args.mib)
        db = str(Path(tmp) / "ledger.sqlite")
        out = subprocess.run(
            [sys.executable, "-c", CHILD, db, str(folder), tax_id],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    imported, rejected, secs, base, peak = (
        int(out[0]),
        int(out[1]),
        float(out[2]),
        *map(int, out[3:]),
    )
    print(
        f"{'files':>6} {'MiB each':>9} {'imported':>9} {'rejected':>9} {'seconds':>8} "
        f"{'RSS before MiB':>15} {'peak RSS MiB':>13}"
    )
    print(
        f"{args.files:>6} {args.mib:>9} {imported:>9} {rejected:>9} {secs:>8.2f} "
        f"{base / 1024:>15.0f} {peak / 1024:>13.0f}"
    )


if __name__ == "__main__":
    main()
