"""Instructions a file, counted by valgrind's callgrind: the same count for the same work whatever
else the machine is doing, so a change to the code can be judged where wall times drift (the
shared machines here have changed speed by half within an hour, and an import's CPU by a fifth
from one run to the next).

    python bench/instructions.py [--files 1000] [--paths json,pdf,write]

Each path runs in a child process under callgrind twice, on no file and on N files, with the same
set-up; the difference over N is the figure:
- json: a canonical JSON file's parse, validation and preparation for the ledger (`to_incoming`,
  what a parser process does for each file of an import), on generated invoices;
- pdf: the same for the real sample PDFs (tests/data/samples/pdf), taken in turn, at most
  PDF_FILES of them (28 million instructions a PDF: a minute under callgrind for 200);
- write: the writer's share of an import (`ingest._record`: the ledger's statements and the audit
  chain), parsed JSON invoices written in batches into a new SQLite ledger.
Count a change by running this before and after it (or with PYTHONPATH pointing at a worktree of
the code before it). Two runs of the same code have differed by up to 6 %: where memory lands
still moves a few branches, so a change is judged over two runs or more. Valgrind is Debian's `valgrind` package; without it the
script says so. About six minutes with the defaults.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PDF_FILES = 200

CHILD = r"""
import json, sys, tempfile
from pathlib import Path
from fapiao import ingest
from fapiao.codec import invoice_to_json
from fapiao.validate import Context
from fapiao_dev.synth import InvoiceFactory

path, count, measured, samples = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
ctx = Context()
ingest.source_formats()
factory = InvoiceFactory(seed=count)
if path == "pdf":
    pdfs = sorted(p.read_bytes() for p in Path(samples).glob("*.pdf"))
    datas = [pdfs[n % len(pdfs)] for n in range(count)]
else:
    docs = [invoice_to_json(factory.invoice()) for _ in range(count)]
    datas = [json.dumps(d, ensure_ascii=False).encode() for d in docs]
sources = [ingest.Source(f"{n:07d}", data) for n, data in enumerate(datas)]
ingest.to_incoming(sources[0], ctx, fields=False)  # first-call costs (imports, caches) outside
if path != "write":
    for source in sources[:measured]:
        ingest.to_incoming(source, ctx, fields=False)
    sys.exit(0)
from fapiao.ledger.db import open_engine
from fapiao.ledger.store import Ledger
parsed = [item for s in sources for item in ingest.to_incoming(s, ctx, fields=False)]
ledger = Ledger(open_engine(Path(tempfile.mkdtemp()) / "ledger.sqlite"), actor="bench")
ledger.add_tenant(tax_id=factory.home.tax_id, name="基准测试公司")
written = parsed[:measured]
batches = [written[n : n + ingest.BATCH_SIZE] for n in range(0, measured, ingest.BATCH_SIZE)]
ingest._record(ledger, iter(batches), on_outcome=None, on_file=None, keep=False)
"""


def counted(path: str, files: int, measured: int, samples: Path) -> int:
    """Instructions the child executed in all (callgrind's total for the process)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={tmp}/out",
                sys.executable,
                "-c",
                CHILD,
                path,
                str(files),
                str(measured),
                str(samples),
            ],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
    found = re.search(r"Collected : (\d+)", out.stderr)
    if found is None:
        raise RuntimeError(f"callgrind printed no total:\n{out.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--paths", default="json,pdf,write")
    ap.add_argument("--samples", type=Path, default=ROOT / "tests/data/samples/pdf")
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind): nothing counted")
        return
    figures = {}
    for path in args.paths.split(","):
        files = min(args.files, PDF_FILES) if path == "pdf" else args.files
        base = counted(path, files, 0, args.samples)
        full = counted(path, files, files, args.samples)
        figures[path] = (full - base) // files
        print(f"{path:<6} {figures[path]:>12,} instructions a file ({files} files)", flush=True)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
