"""`/healthz` latency while `fapiao serve` reconciles a 1,000,000-invoice export uploaded through the
reconcile page: the heavy request must run off the event loop.

    .venv/bin/python bench/serve_load.py [N]        (default 999000)

Builds a SQLite ledger of N invoices the way `bench/reconcile.py` does (one SQL insert) and the
platform's 全量发票查询 export of the same invoices as CSV (written by DuckDB, with 4 of the planted
differences of `bench/reconcile.py` per 1000 — no duplicates, so the list has N rows: at most
999,999 with its header fit the export reader's limit of 1,000,000 rows; above, the reader refuses
the file and every ledger invoice becomes a finding), starts `fapiao serve`, logs in, uploads the export
and asks `/healthz` every 100 ms until the reconcile page comes back. Prints the reconcile's time,
the number of health probes and their latency (median, 99th percentile, worst), and the peak memory
of the server and of the job's child process (as last seen by the probe loop). Target: every probe
answered within 1 s.
"""

from __future__ import annotations

import importlib.util
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

HERE = Path(__file__).parent
PASSWORD = "bench horse 7"


def _bench_reconcile():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_reconcile", HERE / "reconcile.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_export(path: Path, n: int, home: str) -> None:
    """The platform's list of the ledger's invoices as its CSV export (the reader maps headers)."""
    import duckdb

    kind = "数电发票（增值税专用发票）"
    duckdb.sql(
        f"""
COPY (
WITH s AS (
  SELECT i FROM range(1, {n} + 1) t(i) WHERE i % 1000 <> 1
  UNION ALL SELECT i FROM range({n} + 1, {n} + 1 + {n} // 1000) t(i)
), r AS (
  SELECT i, CASE WHEN i > {n} THEN 500 ELSE (i * 7919) % 10000000 + 100 END AS amount FROM s
), v AS (
  SELECT i, amount, amount * 13 // 100 + CASE WHEN i % 1000 = 2 THEN 1 ELSE 0 END AS tax FROM r
)
SELECT row_number() OVER () AS "序号", '' AS "发票代码", '' AS "发票号码",
  '24' || lpad(i::VARCHAR, 18, '0') AS "数电发票号码",
  CASE WHEN i % 2 = 0 THEN '{home}' ELSE '9131' || lpad((i % 5000)::VARCHAR, 14, '0') END AS "销方识别号",
  '对方' AS "销方名称",
  CASE WHEN i % 2 = 0 THEN '9131' || lpad((i % 5000)::VARCHAR, 14, '0') ELSE '{home}' END AS "购方识别号",
  '对方' AS "购买方名称",
  strftime(DATE '2024-01-01' + (i % 366)::INTEGER, '%Y-%m-%d') AS "开票日期",
  printf('%.2f', amount / 100) AS "金额", printf('%.2f', tax / 100) AS "税额",
  printf('%.2f', (amount + tax) / 100) AS "价税合计",
  '电子发票服务平台' AS "发票来源", '{kind}' AS "发票票种",
  CASE WHEN i % 1000 = 3 THEN '已作废' ELSE '正常' END AS "发票状态", '是' AS "是否正数发票",
  '正常' AS "发票风险等级", '' AS "开票人", '' AS "备注"
FROM v
) TO '{path}' (HEADER, DELIMITER ',')
"""
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mib(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children_peak_rss_mib(pid: int) -> float:
    """The largest peak memory among the server's child processes now (the job runs in one)."""
    peak = 0.0
    for listing in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            for child in listing.read_text().split():
                peak = max(peak, peak_rss_mib(int(child)))
        except OSError:
            continue
    return peak


def main(n: int) -> int:
    rec = _bench_reconcile()
    from fapiao.auth import users as auth
    from fapiao.ledger.db import open_engine
    from fapiao.ledger.store import Ledger

    with tempfile.TemporaryDirectory(prefix="fapiao-bench-") as tmp_name:
        tmp = Path(tmp_name)
        db = tmp / "ledger.sqlite"
        t0 = time.perf_counter()
        tenant = rec.build_ledger(db, n)
        engine = open_engine(db)
        auth.add_user(Ledger(engine, actor="bench"), name="clerk", password=PASSWORD,
                      role="accountant", tenants=[str(tenant)])  # fmt: skip
        engine.dispose()
        export = tmp / "export.csv"
        write_export(export, n, rec.HOME)
        print(f"built: ledger of {n:,} and an export of {export.stat().st_size / 1e6:.0f} MB "
              f"in {time.perf_counter() - t0:.0f} s")  # fmt: skip
        port = free_port()
        env = {**os.environ, "TMPDIR": str(tmp), "FAPIAO_COOKIE_SECURE": "0",
               "FAPIAO_CHECK_FIRST_DELAY_S": "3600", "FAPIAO_LOG_LEVEL": "warning"}  # fmt: skip
        fapiao = str(Path(sys.executable).with_name("fapiao"))
        server = subprocess.Popen([fapiao, "--db", str(db), "serve", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            return probe(base, server, tenant, export)
        finally:
            server.terminate()
            server.wait(30)


def probe(base: str, server: subprocess.Popen[bytes], tenant: int, export: Path) -> int:
    for _ in range(300):
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)
    client = httpx.Client(base_url=base, timeout=3600)
    csrf = re.compile(r'name="csrf" value="([^"]+)"')
    token = csrf.findall(client.get("/login").text)[0]
    client.post("/login", data={"name": "clerk", "password": PASSWORD, "csrf": token, "next": "/"})
    token = csrf.findall(client.get("/reconcile").text)[0]
    outcome: dict[str, object] = {}

    def upload() -> None:
        with export.open("rb") as fh:
            started = time.perf_counter()
            resp = client.post("/reconcile", data={"tenant": str(tenant), "csrf": token},
                               files={"export": ("export.csv", fh, "text/csv")})  # fmt: skip
            outcome["seconds"] = time.perf_counter() - started
            outcome["status"] = resp.status_code
            found = re.search(r'id="count-mismatched">(\d+)<', resp.text)
            outcome["mismatched"] = found.group(1) if found else "?"

    thread = threading.Thread(target=upload)
    thread.start()
    latencies: list[float] = []
    failures = 0
    job_peak = 0.0
    while thread.is_alive():
        job_peak = max(job_peak, children_peak_rss_mib(server.pid))
        started = time.perf_counter()
        try:
            ok = httpx.get(base + "/healthz", timeout=10).status_code == 200
        except httpx.TransportError:
            ok = False
        latencies.append(time.perf_counter() - started)
        failures += not ok
        time.sleep(0.1)
    thread.join()
    latencies.sort()
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
    worst = latencies[-1]
    print(f"reconcile upload: HTTP {outcome['status']} in {outcome['seconds']:.1f} s "
          f"(mismatched {outcome['mismatched']}); server peak RSS {peak_rss_mib(server.pid):.0f} MiB, "
          f"job process peak RSS {job_peak:.0f} MiB (last seen)")  # fmt: skip
    print(f"/healthz during it: {len(latencies)} probes, {failures} failed, median "
          f"{statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, worst {worst * 1000:.1f} ms "
          f"(target: all ≤ 1000 ms: {'met' if worst <= 1.0 and not failures else 'MISSED'})")  # fmt: skip
    return 0 if worst <= 1.0 and not failures and outcome["status"] == 200 else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 999_000))
