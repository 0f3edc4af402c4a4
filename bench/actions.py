"""A large outage and its repair, as reconcile runs file them: actions opened, kept, closed.

    .venv/bin/python bench/actions.py [N]        (default: 200000)

A SQLite ledger of N invoices (built as `bench/reconcile.py` builds it) is compared with the
authority's list three times, and each run's findings filed as actions (`remedies.record_run`, as
`fapiao reconcile` does after comparing):
- *outage*: a quarter of the ledger's invoices missing from the list, each a new action;
- then the first PERFORMED of those actions carried out, one by one as `fapiao actions do ID`
  does, and the next PERFORMED together as `fapiao actions do --category missing_at_authority`
  does (`bulk.perform_all`): each invoice back in the outbox;
- *again*: the same list, every action kept;
- *restored*: the whole list, every action of the outage closed (`vanished`).
Each line gives the run's actions and the seconds and CPU seconds of filing them (the comparison
itself is `bench/reconcile.py`'s figure). The bare limit beside them: inserting as many rows of
the same width into a table of their own in one transaction, the ledger's settings (WAL,
synchronous=FULL).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import pyarrow.compute as pc
from sqlalchemy import Engine

sys.path.insert(0, str(Path(__file__).resolve().parent))  # its ledger and list: reconcile.py's

import reconcile as ledger_bench
from fapiao.ledger.db import open_engine
from fapiao.ledger.store import Ledger
from fapiao.reconcile.bulk import perform_all
from fapiao.reconcile.engine import reconcile
from fapiao.reconcile.remedies import list_actions, perform, record_run
from fapiao.reconcile.sources import Scope


def bare_insert(engine: Engine, rows: int) -> float:
    """Rows of about an action's width (a 600-byte detail) inserted in one transaction."""
    detail = "x" * 600
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE bare_actions (id INTEGER PRIMARY KEY, detail TEXT)")
    start = time.perf_counter()
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO bare_actions (id, detail) VALUES (?, ?)",
            [(n, detail) for n in range(rows)],
        )
    return time.perf_counter() - start


PERFORMED = 2_000  # actions carried out


def reupload(ledger: Ledger, tenant_id: int) -> None:
    open_ = list_actions(
        ledger.engine, tenant_id=tenant_id, state="open", category="missing_at_authority"
    )
    ids = [int(a["id"]) for a in open_[: 2 * PERFORMED]]
    for label, chosen, run in (
        ("one by one", ids[:PERFORMED], lambda some: [perform(ledger, i) for i in some]),
        ("together", ids[PERFORMED:], lambda some: list(perform_all(ledger, some))),
    ):
        wall, cpu = time.perf_counter(), time.process_time()
        run(chosen)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        each = 1000 * wall / max(1, len(chosen))
        print(
            f"  {'reupload':9} {f'{len(chosen):,} carried out {label}':42} in {wall:6.2f} s "
            f"({cpu:.2f} s CPU), {each:.2f} ms each"
        )


def main(argv: list[str]) -> int:
    n = int(argv[0]) if argv else 200_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.sqlite"
        tenant_id = ledger_bench.build_ledger(path, n)
        engine = open_engine(path)
        ledger = Ledger(engine, actor="bench")
        scope = Scope(tenant_id, ledger_bench.HOME)
        whole = ledger_bench.authority_table(n)
        outage = whole.filter(pc.not_equal(pc.bit_wise_and(whole["rn"], 3), 0))
        print(f"{n:,} invoices, a quarter of them missing at the platform, then listed again")
        for label, table in (("outage", outage), ("again", outage), ("restored", whole)):
            result = reconcile(engine, scope, table, backend="duckdb")
            wall, cpu = time.perf_counter(), time.process_time()
            summary = record_run(ledger, result, authority="bench").to_json()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            counts = ", ".join(f"{k} {v:,}" for k, v in summary.items() if k != "run_id" and v)
            print(f"  {label:9} {counts:42} filed in {wall:6.2f} s ({cpu:.2f} s CPU)")
            if label == "outage":
                reupload(ledger, tenant_id)
        rows = max(1, n // 4)
        print(f"  bare: {rows:,} rows inserted in {bare_insert(engine, rows):.2f} s")
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
