"""Parse benchmark: a generated corpus of N invoices in every format (数电票/edrm XML, OFD, PDF,
scanned PNG/JPEG) through `parse_bytes`, checked field by field against the expected JSON.

Prints per format: invoices/s (one process, and with --workers processes), latency p50/p95, and
field accuracy; for scans the per-field accuracy and the OCR latency in wall and CPU seconds
(CPU seconds approximate an idle core when the machine is shared).
Targets (2 cores): XML >= 5,000/s, OFD >= 1,000/s, PDF >= 300/s, a scanned page <= 1 s median;
100 % of fields for XML/OFD/PDF, >= 97 % for scans.

    python bench/parse.py [--count 300] [--png 300] [--workers 2] [--formats xml,ofd,pdf,png]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor

from fapiao.codec import invoice_to_json
from fapiao.parse import parse_bytes
from fapiao.samples import invoices, render
from fapiao.samples.render_scan import VARIANTS
from fapiao.samples.score import Score

TARGET_RATE = {"xml": 5_000, "ofd": 1_000, "pdf": 300}
TARGET_SCAN_MEDIAN_S = 1.0


def _parse_all(blobs: list[bytes]) -> int:
    return sum(len(parse_bytes(b)) for b in blobs)


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def bench(fmt: str, count: int, workers: int, seed: int) -> None:
    invs = invoices(count, seed)
    samples = [
        render(inv, fmt, variant=VARIANTS[n % len(VARIANTS)], seed=seed)
        for n, inv in enumerate(invs)
    ]
    score = Score()
    wall: list[float] = []
    cpu: list[float] = []
    started = time.perf_counter()
    for sample in samples:
        t, c = time.perf_counter(), time.process_time()
        [parsed] = parse_bytes(sample.data)
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        got = invoice_to_json(parsed.invoice) if parsed.invoice else None
        label = f"{sample.invoice.number}{'-' + sample.variant if sample.variant else ''}"
        score.add(label, invoice_to_json(sample.invoice), got)
    elapsed = time.perf_counter() - started
    rate = len(samples) / elapsed
    line = (
        f"{fmt:4} n={len(samples):4}  {rate:8.1f}/s  p50 {statistics.median(wall) * 1000:7.1f} ms"
        f"  p95 {_pct(wall, 0.95) * 1000:7.1f} ms  fields {score.accuracy:.2%}"
    )
    if fmt in TARGET_RATE and workers > 1:
        blobs = [s.data for s in samples]
        chunks = [blobs[i::workers] for i in range(workers)]
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(_parse_all, [c[:5] for c in chunks]))  # warm up imports
            t = time.perf_counter()
            list(pool.map(_parse_all, chunks))
            line += f"  {workers} processes {len(blobs) / (time.perf_counter() - t):8.1f}/s"
    if fmt in TARGET_RATE:
        line += f"  (target {TARGET_RATE[fmt]:,}/s)"
    else:
        line += (
            f"  CPU p50 {statistics.median(cpu):.2f} s  (target median <= {TARGET_SCAN_MEDIAN_S} s)"
        )
    print(line, flush=True)
    if fmt == "png":
        for name, value in score.per_field().items():
            print(f"       {name:18} {value:7.2%}  ({score.total[name]})")
    for label, key, got, want in score.wrong[:10]:
        print(f"       wrong {label} {key}: {got!r} != {want!r}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=300, help="invoices per structured format")
    ap.add_argument("--png", type=int, default=300, help="scanned pages")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--formats", default="xml,ofd,pdf,png")
    ap.add_argument("--seed", type=int, default=2024)
    args = ap.parse_args()
    print(f"cores {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} at start", flush=True)
    for fmt in args.formats.split(","):
        bench(fmt, args.png if fmt == "png" else args.count, args.workers, args.seed)
    print(f"load average {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
