"""Latency of the real scans and photos on one core: each picture in the samples' `scan/` folder
parsed ROUNDS times with one OCR thread, and the real PDFs' parse rate.

Prints per file the median wall time and the median CPU time of the process (on a shared machine
the CPU time is what one idle core would take), then the medians over all pages. Target: a scanned
page <= 1 s median on one core.

    python bench/scan_latency.py [SAMPLES_DIR] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("FAPIAO_OCR_THREADS", "1")

# the thread count is read on import, so the environment is set first
from fapiao.parse import parse_bytes

DEFAULT = Path(__file__).resolve().parents[1] / "tests" / "data" / "real"
PICTURES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp")


def timed(data: bytes, rounds: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        parse_bytes(data)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("root", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    files = sorted(p for p in args.root.rglob("*") if p.suffix.lower() in PICTURES)
    pdfs = sorted(args.root.rglob("*.pdf"))
    if files:
        parse_bytes(files[0].read_bytes())  # imports and the OCR models, once per process
    walls, cpus = [], []
    for path in files:
        wall, cpu = timed(path.read_bytes(), args.rounds)
        walls.append(wall)
        cpus.append(cpu)
        print(f"{path.name:45} wall {wall:6.2f} s   cpu {cpu:6.2f} s")
    if files:
        print(
            f"{'scans (median of ' + str(len(files)) + ')':45} wall {statistics.median(walls):6.2f} s"
            f"   cpu {statistics.median(cpus):6.2f} s   threads {os.environ['FAPIAO_OCR_THREADS']}"
        )
    if pdfs:
        blobs = [p.read_bytes() for p in pdfs]
        started, cpu = time.perf_counter(), time.process_time()
        rounds = 20
        for _ in range(rounds):
            for blob in blobs:
                parse_bytes(blob)
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu
        count = rounds * len(blobs)
        print(
            f"{'pdf (' + str(len(blobs)) + ' files)':45} {count / wall:6.1f}/s wall   {count / cpu:6.1f}/s cpu"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
