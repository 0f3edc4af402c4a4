"""Latency of the real scans and photos on one core: each picture in the samples' `scan/` folder
parsed ROUNDS times with one OCR thread, and the real PDFs' parse rate.

Prints per file the median wall time and the median CPU time of the process (on a shared machine
the CPU time is what one idle core would take), then the median and the 90th percentile over all
pages' runs, and the load average around the run (CPU time still grows with the load: the cores'
caches are shared). Target: a scanned page <= 1 s median on one core; run it pinned to one core
(`taskset -c 0`).

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


def timed(data: bytes, rounds: int) -> tuple[list[float], list[float]]:
    walls, cpus = [], []
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        parse_bytes(data)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return walls, cpus


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("root", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    files = sorted(p for p in args.root.rglob("*") if p.suffix.lower() in PICTURES)
    pdfs = sorted(args.root.rglob("*.pdf"))
    load = os.getloadavg()[0]
    if files:
        parse_bytes(files[0].read_bytes())  # imports and the OCR models, once per process
    walls: list[float] = []
    cpus: list[float] = []
    for path in files:
        wall, cpu = timed(path.read_bytes(), args.rounds)
        walls += wall
        cpus += cpu
        print(
            f"{path.name:45} wall {statistics.median(wall):6.2f} s"
            f"   cpu {statistics.median(cpu):6.2f} s"
        )
    if len(files) > 1:
        print(
            f"{f'scans ({len(files)} × {args.rounds} runs) median':45} wall"
            f" {statistics.median(walls):6.2f} s   cpu {statistics.median(cpus):6.2f} s"
            f"   threads {os.environ['FAPIAO_OCR_THREADS']}"
        )
        print(f"{'scans p90':45} wall {p90(walls):6.2f} s   cpu {p90(cpus):6.2f} s")
        print(f"{'load average (1 min) before / after':45} {load:.1f} / {os.getloadavg()[0]:.1f}")
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
