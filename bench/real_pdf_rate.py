"""Parse rate on real PDF invoices: each PDF of a folder (default tests/data/real/digital) parsed
`--rounds` times through `parse_bytes`, invoices/s by CPU time (what one idle core would do) and by
wall clock, per file and over all of them, beside the bare limit of the same run (pypdfium2
opening the file and taking its pages' text, `bench/bare.py`) and the ratio of the two. Files
that need OCR (a text layer without a Unicode map) are slower by two orders of magnitude and are
shown as such.

    python bench/real_pdf_rate.py [FOLDER] [--rounds 50]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bare import pdf_text  # noqa: E402

from fapiao.parse import parse_bytes  # noqa: E402

DEFAULT = ROOT / "tests" / "data" / "real" / "digital"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    files = sorted(args.folder.glob("*.pdf"))
    blobs = [(f.name, f.read_bytes()) for f in files]
    cpu_all = wall_all = bare_all = 0.0
    count_all = 0
    for name, blob in blobs:
        parse_bytes(blob)  # warm the imports and caches
        cpu, wall = time.process_time(), time.perf_counter()
        count = sum(
            parsed.invoice is not None for _ in range(args.rounds) for parsed in parse_bytes(blob)
        )
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        bare = time.process_time()
        for _ in range(args.rounds):
            pdf_text(blob)
        bare = time.process_time() - bare
        cpu_all, wall_all, count_all = cpu_all + cpu, wall_all + wall, count_all + count
        bare_all += bare
        print(
            f"{name:44} {count / cpu:8.1f}/s cpu  {count / wall:8.1f}/s wall  ({count} invoices)"
            f"  bare {args.rounds / bare:8.1f}/s cpu  ratio {bare / cpu:.2f}"
        )
    if count_all:
        print(
            f"{'all':44} {count_all / cpu_all:8.1f}/s cpu  {count_all / wall_all:8.1f}/s wall"
            f"  bare {len(blobs) * args.rounds / bare_all:.1f}/s cpu  ratio {bare_all / cpu_all:.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
