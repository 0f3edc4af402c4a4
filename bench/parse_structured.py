"""Throughput of the structured parsers: 数电票/edrm XML and OFD, parse + validate, one process.

Files come from the sample generator (a corpus of N invoices, every kind, red and marker cases) and
the real samples in tests/data/samples. Prints invoices/s and latency percentiles per format.
Targets: XML >= 5,000/s, OFD >= 1,000/s.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from fapiao.parse import parse_bytes
from fapiao.validate import Context, validate

ROOT = Path(__file__).resolve().parent.parent
COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else 300
ROUNDS = 3
TARGETS = {"xml": 5_000, "ofd": 1_000}


def corpus(fmt: str) -> list[bytes]:
    files = [p.read_bytes() for p in sorted((ROOT / "tests/data/samples" / fmt).glob(f"*.{fmt}"))]
    try:
        from fapiao_dev.samples import invoices, render
    except ImportError:  # the generator is optional here: the real samples suffice
        return files
    return files + [render(inv, fmt).data for inv in invoices(COUNT, seed=7)]


def run(fmt: str) -> tuple[float, list[float], int]:
    files = corpus(fmt)
    ctx = Context()
    latencies: list[float] = []
    failures = 0
    started = time.perf_counter()
    for _ in range(ROUNDS):
        for data in files:
            t0 = time.perf_counter()
            for parsed in parse_bytes(data):
                if parsed.invoice is None:
                    failures += 1
                else:
                    validate(parsed.invoice, ctx)
            latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, latencies, failures


def main() -> None:
    print(f"structured parsers, parse + validate, {ROUNDS} rounds, 1 process")
    for fmt, target in TARGETS.items():
        rate, lat, failures = run(fmt)
        lat.sort()
        p50 = statistics.median(lat) * 1000
        p99 = lat[int(len(lat) * 0.99) - 1] * 1000
        mark = "ok" if rate >= target else "BELOW TARGET"
        print(
            f"{fmt:>4}: {rate:8.0f} invoices/s ({1000 / p50:.0f}/s at the median latency)  "
            f"p50 {p50:.3f} ms  p99 {p99:.3f} ms  "
            f"({len(lat)} files, {failures} without invoice)  target {target}/s {mark}"
        )


if __name__ == "__main__":
    main()
