"""Reconciliation at scale: N ledger invoices against N authority records with known differences.

    .venv/bin/python bench/reconcile.py [N ...]        (default: 1000000 10000000)

For each N, a child process builds a SQLite ledger (the invoices table filled by one SQL insert from
a recursive CTE, not through the import path, each row with a doc of about 1 KiB as a real
ledger's; the full-text-search triggers are dropped for the load, as nothing here searches) and the
authority's list as an Arrow table generated in DuckDB.
It then times `reconcile()` — reading the ledger included — checks that it found exactly the
planted differences, and prints the figures with the process's peak memory. Beside each figure it
prints its bare limit measured in the same run: DuckDB's full outer join of two tables of the same
sizes already in memory (the ledger's columns as Arrow, the authority's list), keeping the rows that
differ — what reconciling would cost if reading the ledger and sorting the findings were free. The
ratio of the two is the figure to watch; the machine is shared, so the CPU times (and their ratio,
which the load changes least) and the load average are printed too.

Planted, per 1000 invoices: 1 missing at the authority, 1 missing in the ledger, 1 with tax and
total off by 0.01, 1 void at the authority only, 1 listed twice by the authority.
Targets: 1M ≤ 2 s, 10M ≤ 20 s, peak memory < 8 GiB.
"""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HOME = "91110108MA0TL7K20Q"
TARGET_S = {1_000_000: 2.0, 10_000_000: 20.0}
MEMORY_LIMIT_GIB = 8.0


# each row's doc (the invoice's canonical JSON) about 1 KiB, as a real ledger's: the ledger is read
# by scanning its rows, and an empty doc would pack several times as many rows into each page
DOC = (
    """'{{"items":[{{"name":"*信息技术服务*软件开发"}}],"remarks":"' """
    """|| hex(randomblob(480)) || '"}}'"""
)


def build_ledger(path: Path, n: int) -> int:
    from fapiao.ledger.db import open_engine
    from fapiao.ledger.store import Ledger

    engine = open_engine(path)
    tenant_id, _ = Ledger(engine, actor="bench").add_tenant(tax_id=HOME, name="基准测试有限公司")
    engine.dispose()
    con = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-1000000"):
        con.execute(f"PRAGMA {pragma}")
    triggers = con.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'invoices'"
    ).fetchall()
    for (name,) in triggers:
        con.execute(f"DROP TRIGGER {name}")
    # indexes are dropped for the load and built again after it (a sort each, not 10M inserts)
    indexes = con.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'invoices' "
        "AND sql IS NOT NULL"
    ).fetchall()
    for name, _ in indexes:
        con.execute(f"DROP INDEX {name}")
    con.execute("BEGIN")
    con.execute(
        f"""
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}),
v AS (SELECT i, (i * 7919) % 10000000 + 100 AS amount FROM s)
INSERT INTO invoices
SELECT i, {tenant_id}, printf('24%018d', i), CASE i % 2 WHEN 0 THEN 'issued' ELSE 'received' END,
  'digital_special', '', printf('24%018d', i), date('2024-01-01', '+' || (i % 366) || ' days'),
  CASE i % 2 WHEN 0 THEN '{HOME}' ELSE printf('9131%014d', i % 5000) END, '对方',
  CASE i % 2 WHEN 0 THEN printf('9131%014d', i % 5000) ELSE '{HOME}' END, '对方',
  amount, amount * 13 / 100, amount + amount * 13 / 100, 'normal', '', 'file', 'local',
  '', '', {DOC}, NULL, '', '', ''
FROM v
"""
    )
    con.execute("COMMIT")
    for _, sql in indexes:
        con.execute(sql)
    con.execute("PRAGMA journal_mode=WAL")
    con.close()
    return int(tenant_id or 0)


def authority_table(n: int):  # type: ignore[no-untyped-def]
    import duckdb

    from fapiao.reconcile.sources import AUTHORITY_SCHEMA

    con = duckdb.connect()
    # rn: a unique position in the list; a duplicate's is larger than its first listing's
    table = (
        con.execute(
            f"""
WITH s AS (
  SELECT i, i AS rn FROM range(1, {n} + 1) t(i) WHERE i % 1000 <> 1
  UNION ALL SELECT i, i FROM range({n} + 1, {n} + 1 + {n} // 1000) t(i)
  UNION ALL SELECT i, 2 * {n} + i FROM range(1, {n} + 1) t(i) WHERE i % 1000 = 4
), r AS (
  SELECT i, rn, CASE WHEN i > {n} THEN 500 ELSE (i * 7919) % 10000000 + 100 END AS amount FROM s
), v AS (
  SELECT i, rn, amount, amount * 13 // 100 + CASE WHEN i % 1000 = 2 THEN 1 ELSE 0 END AS tax FROM r
)
SELECT '24' || lpad(i::VARCHAR, 18, '0') AS key, '' AS code, '24' || lpad(i::VARCHAR, 18, '0') AS number,
  'digital_special' AS kind, DATE '2024-01-01' + (i % 366)::INTEGER AS issue_date,
  CASE WHEN i % 2 = 0 THEN '{HOME}' ELSE '9131' || lpad((i % 5000)::VARCHAR, 14, '0') END AS seller_tax_id,
  '对方' AS seller_name,
  CASE WHEN i % 2 = 0 THEN '9131' || lpad((i % 5000)::VARCHAR, 14, '0') ELSE '{HOME}' END AS buyer_tax_id,
  '对方' AS buyer_name, amount, tax, amount + tax AS total,
  CASE WHEN i % 1000 = 3 THEN 'void' ELSE 'normal' END AS status,
  CASE WHEN i % 1000 = 3 THEN '已作废' ELSE '正常' END AS platform_status,
  '' AS original_key, rn
FROM v
"""
        )
        .fetch_record_batch(1_000_000)
        .read_all()
    )
    con.close()
    return table.cast(AUTHORITY_SCHEMA)


def bare_join(n: int, auth) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Seconds (wall, CPU) for DuckDB's full outer join of n ledger rows (generated in memory, as Arrow) with
    the authority's list, keeping the differing rows: the limit the reconcile figure is set against."""
    import duckdb

    con = duckdb.connect()
    ledger = con.execute(
        f"""
SELECT '24' || lpad(i::VARCHAR, 18, '0') AS key, DATE '2024-01-01' + (i % 366)::INTEGER AS issue_date,
  (i * 7919) % 10000000 + 100 AS amount, ((i * 7919) % 10000000 + 100) * 13 // 100 AS tax,
  ((i * 7919) % 10000000 + 100) * 113 // 100 AS total
FROM range(1, {n} + 1) t(i)"""
    ).fetch_arrow_table()
    con.register("led", ledger)
    con.register("auth", auth)
    t0, c0 = time.perf_counter(), time.process_time()
    con.execute(
        "SELECT COALESCE(l.key, a.key), l.total, a.total FROM led l FULL OUTER JOIN auth a "
        "ON l.key = a.key WHERE l.key IS NULL OR a.key IS NULL OR l.total <> a.total "
        "OR l.tax <> a.tax OR l.issue_date <> a.issue_date"
    ).fetchall()
    took = time.perf_counter() - t0, time.process_time() - c0
    con.close()
    return took


EXPORT_ROWS = 999_000  # an export file holds at most a million rows (export_rows.MAX_ROWS)


def write_export_csv(auth, path: Path, rows: int) -> None:  # type: ignore[no-untyped-def]
    """The first `rows` of the authority's list as the platform's 全量发票查询 CSV export."""
    import duckdb

    def yuan(col: str) -> str:
        return f"({col} // 100)::VARCHAR || '.' || lpad(({col} % 100)::VARCHAR, 2, '0')"

    con = duckdb.connect()
    con.register("auth", auth)
    con.execute(
        f"""
COPY (SELECT row_number() OVER () AS "序号", '' AS "发票代码", '' AS "发票号码", number AS "数电发票号码",
  seller_tax_id AS "销方识别号", seller_name AS "销方名称", buyer_tax_id AS "购方识别号",
  buyer_name AS "购买方名称", issue_date::VARCHAR AS "开票日期", {yuan("amount")} AS "金额",
  {yuan("tax")} AS "税额", {yuan("total")} AS "价税合计", '电子发票服务平台' AS "发票来源",
  '数电发票（增值税专用发票）' AS "发票票种", platform_status AS "发票状态", '是' AS "是否正数发票",
  '正常' AS "发票风险等级", '' AS "开票人", '' AS "备注"
FROM (SELECT * FROM auth ORDER BY rn LIMIT {rows}))
TO '{path}' (HEADER, DELIMITER ',')"""
    )
    con.close()


def export_figures(engine, scope, auth, workdir: Path) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Reconcile from a CSV export of the list's first EXPORT_ROWS rows as `fapiao reconcile`
    does: the file read while the ledger's side is read beside it (`read_ahead`), then compared."""
    from fapiao.authority.files import read_export_files
    from fapiao.reconcile.engine import read_ahead, reconcile
    from fapiao.reconcile.sources import AuthorityRows

    rows = min(EXPORT_ROWS, auth.num_rows)
    path = workdir / "export.csv"
    write_export_csv(auth, path, rows)
    t0 = time.perf_counter()
    with read_ahead(engine, scope, backend="duckdb") as ahead:
        table, problems = read_export_files(path)
        t1, c1 = time.perf_counter(), time.process_time()
        result = reconcile(engine, scope, AuthorityRows(table), backend="duckdb", ahead=ahead)
    t2, c2 = time.perf_counter(), time.process_time()
    command = command_seconds(engine.url.database, path)
    path.unlink()
    return {
        "export_rows": table.num_rows,
        "export_ok": table.num_rows == rows and not problems and result.authority_count == rows,
        "export_read_s": round(t1 - t0, 2),
        "export_reconcile_s": round(t2 - t1, 2),
        "export_reconcile_cpu_s": round(c2 - c1, 2),
        "command_s": command,
    }


def command_seconds(db: str, export: Path) -> float:
    """Wall seconds of the whole `fapiao reconcile --authority EXPORT` as a person runs it: the
    process's start, reading the file and the ledger, comparing, filing every finding as an
    action, printing the summary."""
    fapiao = str(Path(sys.executable).with_name("fapiao"))
    env = {**os.environ, "FAPIAO_PASSWORD": "bench-Passw0rd", "FAPIAO_DB": db}
    subprocess.run([fapiao, "user", "add", "bench", "--role", "admin"], env=env, check=True,
                   capture_output=True)  # fmt: skip
    t0 = time.perf_counter()
    done = subprocess.run(
        [fapiao, "--as", "bench", "reconcile", "--authority", str(export)],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    took = time.perf_counter() - t0
    if done.returncode not in (0, 1):  # 1: there are findings
        raise RuntimeError(done.stderr)
    return round(took, 2)


def expected(n: int) -> dict[str, set[str]]:
    def key(i: int) -> str:
        return f"24{i:018d}"

    def every(r: int) -> set[str]:
        return {key(i) for i in range(r, n + 1, 1000) if i >= 1}

    return {
        "missing_at_authority": every(1),
        "missing_in_ledger": {key(i) for i in range(n + 1, n + 1 + n // 1000)},
        "mismatched": every(2),
        "status_mismatch": every(3),
        "duplicates_at_authority": every(4),
        "deduction_mismatch": set(),  # the generated list states no 勾选
    }


def child(n: int, workdir: Path) -> None:
    from fapiao.ledger.db import open_engine
    from fapiao.reconcile.engine import reconcile
    from fapiao.reconcile.sources import Scope

    path = workdir / f"ledger-{n}.sqlite"
    t0 = time.perf_counter()
    # built in a process of its own: the load's page cache (a GiB) is not the reconcile's memory
    with ProcessPoolExecutor(1) as builder:
        tenant_id = builder.submit(build_ledger, path, n).result()
    t1 = time.perf_counter()
    auth = authority_table(n)
    t2 = time.perf_counter()
    engine = open_engine(path)
    scope = Scope(tenant_id, HOME)
    t3, c3 = time.perf_counter(), time.process_time()
    result = reconcile(engine, scope, auth, backend="duckdb")
    t4, c4 = time.perf_counter(), time.process_time()
    load = os.getloadavg()[0]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    bare, bare_cpu = bare_join(n, auth)
    export = export_figures(engine, scope, auth, workdir) if n <= 1_000_000 else {}
    peak_export = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    found = {cat: {e.key for e in entries} for cat, entries in result.entries.items()}
    want = expected(n)
    exact = found == want
    mism = result.entries["mismatched"][:1]
    fields_ok = bool(mism) and set(mism[0].fields) == {"tax", "total"}
    print(
        json.dumps(
            {
                "n": n,
                "build_ledger_s": round(t1 - t0, 1),
                "build_authority_s": round(t2 - t1, 1),
                "reconcile_s": round(t4 - t3, 2),
                "reconcile_cpu_s": round(c4 - c3, 2),
                "bare_join_s": round(bare, 2),
                "bare_join_cpu_s": round(bare_cpu, 2),
                "load_avg": round(load, 1),
                "ledger_count": result.ledger_count,
                "authority_count": result.authority_count,
                "matched": result.matched,
                "found": {k: len(v) for k, v in found.items()},
                "exact": exact and fields_ok,
                "peak_gib": round(peak, 2),
                "peak_after_export_gib": round(peak_export, 2),
                **export,
            }
        )
    )
    engine.dispose()
    path.unlink()


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        child(int(argv[1]), Path(argv[2]))
        return 0
    sizes = [int(a) for a in argv] or [1_000_000, 10_000_000]
    ok = True
    with tempfile.TemporaryDirectory(prefix="fapiao-bench-") as tmp:
        for n in sizes:
            proc = subprocess.run(
                [sys.executable, __file__, "--child", str(n), tmp],
                capture_output=True,
                text=True,
                env={**os.environ, "PYTHONWARNINGS": "ignore"},
            )
            if proc.returncode != 0:
                print(proc.stdout, proc.stderr, file=sys.stderr)
                return 1
            fig = json.loads(proc.stdout.strip().splitlines()[-1])
            target = TARGET_S.get(n)
            within = (target is None or fig["reconcile_s"] <= target) and (
                fig["peak_gib"] < MEMORY_LIMIT_GIB
            )
            ok = ok and within and fig["exact"]
            print(
                f"{n:>11,} vs {fig['authority_count']:,}: reconcile {fig['reconcile_s']:.2f} s "
                f"beside the bare DuckDB join's {fig['bare_join_s']:.2f} s "
                f"(ratio {fig['reconcile_s'] / max(fig['bare_join_s'], 0.01):.1f}; "
                f"target {target or '-'} s; CPU {fig['reconcile_cpu_s']:.2f} s beside the join's "
                f"{fig['bare_join_cpu_s']:.2f} s, ratio "
                f"{fig['reconcile_cpu_s'] / max(fig['bare_join_cpu_s'], 0.01):.1f}; load average "
                f"{fig['load_avg']}), peak {fig['peak_gib']:.2f} GiB, "
                f"exactly the planted differences: {'yes' if fig['exact'] else 'NO'} {fig['found']} "
                f"[ledger built in {fig['build_ledger_s']} s, authority list in "
                f"{fig['build_authority_s']} s]"
            )
            if "export_rows" in fig:
                ok = ok and bool(fig["export_ok"])
                print(
                    f"{'':>11} from a CSV export of {fig['export_rows']:,} rows: read "
                    f"{fig['export_read_s']:.2f} s (the ledger read beside it) + reconcile "
                    f"{fig['export_reconcile_s']:.2f} s "
                    f"(CPU {fig['export_reconcile_cpu_s']:.2f} s) "
                    f"= {fig['export_read_s'] + fig['export_reconcile_s']:.2f} s end to end, "
                    f"peak {fig['peak_after_export_gib']:.2f} GiB; read whole: "
                    f"{'yes' if fig['export_ok'] else 'NO'}"
                )
                print(
                    f"{'':>11} the whole `fapiao reconcile --authority` command on it (start, "
                    f"read, compare, every finding filed as an action): {fig['command_s']:.2f} s"
                )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
