"""Writing the reconciliation report as xlsx: N findings (default 200,000) spread over the five
categories, some with hostile names, written through `reconcile.report.to_xlsx` (openpyxl write-only).

    .venv/bin/python bench/report.py [N ...]

Prints seconds, rows per second, the file's size and the process's peak memory per N.
Target: 200,000 findings ≤ 20 s, time linear in N.
"""

from __future__ import annotations

import datetime as dt
import resource
import sys
import time

from fapiao.reconcile.engine import CATEGORIES, Entry, Result
from fapiao.reconcile.report import to_xlsx
from fapiao.reconcile.sources import Scope

TARGET_S = {200_000: 20.0}
HOME_PARTY = "91310115MA1HT6W455"


def result(n: int) -> Result:
    r = Result(Scope(1, "91110108MA0TL7K20Q", "基准", None), n, n, 0)
    r.uncompared.clear()  # every category written, 勾选 too
    day = dt.date(2024, 6, 1)
    for i in range(n):
        cat = CATEGORIES[i % len(CATEGORIES)]
        extra: dict = {}
        if cat == "mismatched":
            extra["fields"] = {"total": {"ledger": "113.00", "authority": "112.99"}}
        elif cat == "status_mismatch":
            extra.update(ledger_status="normal", authority_status="red")
        elif cat == "duplicates_at_authority":
            extra["count"] = 2
        name = '=HYPERLINK("http://x","点我")' if i % 97 == 0 else f"上海示范物流{i % 500}有限公司"
        when = day + dt.timedelta(days=i % 180)
        entry = Entry(
            cat, "", f"2411{i:016d}", when, "issued", HOME_PARTY, name, 11300 + i, **extra
        )
        r.entries[cat].append(entry)
    return r


def main(sizes: list[int]) -> None:
    for n in sizes:
        res = result(n)
        started, cpu = time.perf_counter(), time.process_time()
        body = to_xlsx(res, tenant="基准测试有限公司", authority="bench")
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        target = TARGET_S.get(n)
        verdict = (
            f" (target ≤ {target:g} s: {'met' if seconds <= target else 'MISSED'})"
            if target
            else ""
        )
        print(
            f"xlsx report, {n:,} findings: {seconds:.2f} s ({cpu:.2f} s CPU), {n / seconds:,.0f} rows/s, "
            f"{len(body) / 1e6:.1f} MB, peak RSS {peak:.0f} MiB{verdict}"
        )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [20_000, 200_000])
