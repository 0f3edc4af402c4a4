"""The demo's last act: a sandbox platform that lost part of the company's invoices (it acknowledged
them, then dropped them: the drop-after-ack fault) and marked one red-flushed on its side; the reconcile against
its list names exactly those, files each as an action and writes the HTML report."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from fapiao.ledger import schema
from fapiao.ledger.store import Ledger
from fapiao.money import format_fen

DROP_RATE = 0.04


def sandbox_reconcile(ledger: Ledger, directory: Path, out: Console) -> int:
    """Returns 0 when the reconcile found exactly what the sandbox lost and the one it flushed."""
    from fapiao.authority.connector import Operation
    from fapiao.authority.http import HttpConnector
    from fapiao.reconcile.run import actions_index, run, write_report
    from fapiao_dev.sandbox.faults import FaultPlan
    from fapiao_dev.sandbox.run import SandboxThread

    inv = schema.invoices
    with ledger.engine.connect() as conn:
        rows = conn.execute(select(inv.c.identity_key, inv.c.doc).order_by(inv.c.id)).all()
    plan = FaultPlan.from_json({"seed": 11, "drop_after_ack_rate": DROP_RATE})
    out.print(
        f"\n[bold]对账 reconcile[/] — 另一个沙箱平台 another sandbox platform: 受理后丢失 "
        f"drop-after-ack {DROP_RATE:.0%}, 并在平台侧红冲一张 and one red-flushed on its side"
    )
    with SandboxThread(directory / "sandbox-reconcile", plan) as sandbox:
        with HttpConnector(sandbox.url) as conn:
            ops = [Operation("upload", None, f"demo-{key}", json.loads(doc)) for key, doc in rows]
            accepted = 0
            for start in range(0, len(ops), 200):
                results = conn.send_batch(ops[start : start + 200])
                accepted += sum(1 for r in results if not isinstance(r, Exception))
        admin = f"{sandbox.url}/api/v1/admin"
        held = httpx.get(f"{admin}/stats", timeout=30).json()["invoices"]
        flushed = _flush_one(admin, [k for k, _ in rows])
        out.print(
            f"平台受理 accepted {accepted} · 实际保存 held {held} · 丢失 lost {accepted - held} · "
            f"平台侧红冲 red-flushed at the platform: {flushed}"
        )
        outcome = run(ledger, tenant=None, period=None, authority=sandbox.url)
    result = outcome.result
    missing = result.entries["missing_at_authority"]
    out.print(
        f"账簿 ledger {result.ledger_count} · 平台 authority {result.authority_count} · "
        f"一致 matched {result.matched} · 税务平台缺失 missing {len(missing)} · "
        f"状态不一致 status {len(result.entries['status_mismatch'])}"
    )
    table = Table(
        "税务平台缺失 missing at the authority", "开票日期 date", "对方 counterparty", "价税合计"
    )
    for e in missing[:8]:
        day = e.issue_date.isoformat() if e.issue_date else ""
        table.add_row(e.key, day, e.counterparty_name, format_fen(e.total))
    out.print(table)
    report = directory / "reconcile.html"
    write_report(outcome, report, actions_index(ledger, result.scope.tenant_id))
    opened = outcome.summary.to_json()["opened"] if outcome.summary else 0
    db = directory / "ledger.sqlite"
    out.print(f"处理事项 actions opened {opened}: fapiao --db {db} actions list")
    out.print(f"对账报告 report: {report}")
    exact = len(missing) == accepted - held and [
        s.key for s in result.entries["status_mismatch"]
    ] == ([flushed] if flushed else [])
    return 0 if exact else 1


def _flush_one(admin: str, keys: list[str]) -> str:
    """Mark, at the platform, one invoice it holds as red-flushed (a 红冲 the company never saw)."""
    for key in keys[10:]:
        r = httpx.post(
            f"{admin}/invoices/{key}/status",
            json={"status": "red", "platform_status": "已红冲-全额"},
            timeout=30,
        )
        if r.status_code == 200:
            return key
    return ""
