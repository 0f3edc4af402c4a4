"""Parse benchmark: a generated corpus of N invoices in every format (数电票/edrm XML, OFD, PDF,
scanned PNG/JPEG) through `parse_bytes` and `validate`, checked field by field against the expected JSON.

Prints per format: invoices/s by wall clock and by CPU time (CPU time is what one idle core would
take; the machine is shared, so the targets are judged on it), latency p50/p99 (wall and CPU),
field accuracy, and for scans the accuracy per field; with --workers N, the rate of N processes.
Targets (2 cores): XML >= 5,000/s, OFD >= 1,000/s, PDF >= 300/s, a scanned page <= 1 s median;
100 % of fields for XML/OFD/PDF, >= 97 % for scans.

    python bench/parse.py [--count 300] [--png 300] [--rounds 3] [--workers 2] [--formats xml,ofd,pdf,png]
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
from fapiao.validate import Context, validate

TARGET_RATE = {"xml": 5_000, "ofd": 1_000, "pdf": 300}
TARGET_SCAN_MEDIAN_S = 1.0


def _parse_all(blobs: list[bytes]) -> int:
    ctx = Context()
    count = 0
    for blob in blobs:
        for parsed in parse_bytes(blob):
            if parsed.invoice is not None:
                validate(parsed.invoice, ctx)
            count += 1
    return count


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms" if seconds < 10 else f"{seconds:8.1f} s "


def bench(fmt: str, count: int, rounds: int, workers: int, seed: int) -> None:
    samples = [
        render(inv, fmt, variant=VARIANTS[n % len(VARIANTS)], seed=seed)
        for n, inv in enumerate(invoices(count, seed))
    ]
    _parse_all([samples[0].data])  # imports, and the OCR models for scans
    ctx = Context()
    score = Score()
    wall: list[float] = []
    cpu: list[float] = []
    load = os.getloadavg()[0]
    for round_no in range(rounds):
        for sample in samples:
            t, c = time.perf_counter(), time.process_time()
            results = parse_bytes(sample.data)
            for parsed in results:
                if parsed.invoice is not None:
                    validate(parsed.invoice, ctx)
            wall.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            if round_no == 0:
                got = results[0].invoice
                label = f"{sample.invoice.number}{'-' + sample.variant if sample.variant else ''}"
                score.add(label, invoice_to_json(sample.invoice), got and invoice_to_json(got))
    load = max(load, os.getloadavg()[0])
    rate_wall, rate_cpu = len(wall) / sum(wall), len(cpu) / sum(cpu)
    print(
        f"{fmt:4} n={len(samples):4}×{rounds}  {rate_cpu:9.1f}/s CPU  {rate_wall:9.1f}/s wall"
        f"  p50 {_ms(statistics.median(cpu))} CPU {_ms(statistics.median(wall))} wall"
        f"  p99 {_ms(_pct(cpu, 0.99))} CPU {_ms(_pct(wall, 0.99))} wall"
        f"  fields {score.accuracy:.2%}  load {load:.1f}",
        flush=True,
    )
    if fmt in TARGET_RATE:
        verdict = "ok" if rate_cpu >= TARGET_RATE[fmt] else "BELOW TARGET"
        print(f"       target {TARGET_RATE[fmt]:,}/s by CPU time: {verdict}")
        if workers > 1:
            blobs = [s.data for s in samples] * rounds
            chunks = [blobs[i::workers] for i in range(workers)]
            with ProcessPoolExecutor(workers) as pool:
                list(pool.map(_parse_all, [c[:5] for c in chunks]))  # warm up imports
                t = time.perf_counter()
                done = sum(pool.map(_parse_all, chunks))
                elapsed = time.perf_counter() - t
            print(f"       {workers} processes: {done / elapsed:9.1f}/s wall")
    else:
        p50 = statistics.median(wall)  # a page's latency: what the clerk waits for
        verdict = "ok" if p50 <= TARGET_SCAN_MEDIAN_S else "ABOVE TARGET"
        print(f"       target median <= {TARGET_SCAN_MEDIAN_S} s wall clock: {verdict}")
        for name, value in score.per_field().items():
            print(f"       {name:18} {value:7.2%}  ({score.total[name]})")
    for label, key, got, want in score.wrong[:10]:
        print(f"       wrong {label} {key}: {got!r} != {want!r}")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--count", type=int, default=300, help="invoices per structured format")
    ap.add_argument("--png", type=int, default=300, help="scanned pages")
    ap.add_argument("--rounds", type=int, default=3, help="passes over the structured corpora")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--formats", default="xml,ofd,pdf,png")
    ap.add_argument("--seed", type=int, default=2024)
    args = ap.parse_args()
    print(f"cores {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} at start", flush=True)
    for fmt in args.formats.split(","):
        scans = fmt == "png"
        count, rounds = (args.png, 1) if scans else (args.count, args.rounds)
        bench(fmt, count, rounds, args.workers, args.seed)
    print(f"load average {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
