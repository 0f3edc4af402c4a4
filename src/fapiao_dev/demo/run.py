"""`fapiao demo`: a SQLite ledger with a few hundred realistic invoices of both directions, some of
them bad, imported and summarised. Grows as the capabilities land."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

from fapiao.codec import invoice_to_json
from fapiao.ingest import import_paths
from fapiao.ledger import audit, queries, search_index
from fapiao.ledger.db import open_engine
from fapiao.ledger.listing import Listing
from fapiao.ledger.store import Ledger
from fapiao.model import Party
from fapiao_dev.synth import InvoiceFactory


def write_inbox(inbox: Path, count: int, seed: int = 7) -> Party:
    """Writes `count` good invoices plus a handful of bad ones; returns the home company."""
    factory = InvoiceFactory(seed)
    inbox.mkdir(parents=True, exist_ok=True)
    invoices = [factory.invoice() for _ in range(count)]
    invoices.append(factory.red_of(invoices[0]))
    for n, inv in enumerate(invoices):
        _dump(inbox / f"{n:05d}-{inv.number}.json", invoice_to_json(inv))
    bad = inbox / "bad"
    bad.mkdir(exist_ok=True)
    sample = invoices[1]
    wrong_check = replace(
        sample.seller,
        tax_id=sample.seller.tax_id[:-1] + ("0" if sample.seller.tax_id[-1] != "0" else "1"),
    )
    _dump(
        bad / "wrong-check-digit.json",
        invoice_to_json(
            replace(invoices[2], number=invoices[2].number[:-3] + "999", seller=wrong_check)
        ),
    )
    _dump(
        bad / "totals-do-not-add-up.json",
        invoice_to_json(
            replace(
                invoices[3], number=invoices[3].number[:-3] + "998", total=invoices[3].total + 100
            )
        ),
    )
    (bad / "malformed.json").write_text('{"kind": "digital_special", "number": ', encoding="utf-8")
    (bad / "not-an-invoice.txt").write_text("会议纪要 meeting notes", encoding="utf-8")
    _dump(bad / "duplicate-of-first.json", invoice_to_json(invoices[0]))
    _dump(
        bad / "conflicting-copy.json",
        invoice_to_json(replace(invoices[4], remarks="改过的备注 edited remark")),
    )
    return factory.home


def _dump(path: Path, doc: dict[str, object]) -> None:
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")


def run_demo(directory: Path, count: int, out: Console, err: Console) -> int:
    if directory.exists():
        shutil.rmtree(directory)
    inbox = directory / "inbox"
    home = write_inbox(inbox, count)
    db = directory / "ledger.sqlite"
    ledger = Ledger(open_engine(db), actor="demo")
    ledger.add_tenant(tax_id=home.tax_id, name=home.name)
    out.print(f"[bold]fapiao 演示 demo[/] — 企业 company: {home.name} ({home.tax_id})")
    out.print(f"账簿 ledger: {db}    来源 inbox: {inbox}")
    summary = import_paths(ledger, [inbox])
    search_index.catch_up(ledger.engine)
    c = summary.counts
    out.print(
        f"导入 imported {c.get('imported', 0)} · 重复 duplicates {c.get('duplicate', 0)} · "
        f"冲突 conflicts {c.get('conflict', 0)} · 拒收并隔离 rejected+quarantined {c.get('rejected', 0)}"
    )
    for o in summary.rejected:
        first = o.findings[0] if o.findings else None
        reason = f"{first.code}: {first.message} / {first.message_en}" if first else ""
        out.print(f"  [red]✗[/] {Path(o.file).name}  {reason}", highlight=False)
    _month_table(ledger, out)
    from fapiao_dev.demo.sync import run_sync_demo

    synced = run_sync_demo(directory, ledger, out)
    from fapiao_dev.demo.reconcile import sandbox_reconcile

    reconciled = sandbox_reconcile(ledger, directory, out)
    from fapiao_dev.demo.web import add_demo_login

    add_demo_login(ledger, directory, db, out)
    report = audit.verify(ledger.engine)
    mark = "[green]✓[/]" if report.ok else "[red]✗[/]"
    out.print(
        f"{mark} 审计链 audit chain: {report.events} events, {report.invoices} invoices verified"
    )
    out.print(f"试试 try: fapiao --db {db} list --period 2024-11")
    return 0 if report.ok and synced and reconciled == 0 else 1


def _month_table(ledger: Ledger, out: Console) -> None:
    months: dict[tuple[str, str], list[int]] = {}
    for row in queries.list_invoices(ledger.engine, Listing()):
        key = (row["issue_date"][:7], row["direction"])
        bucket = months.setdefault(key, [0, 0])
        bucket[0] += 1
        bucket[1] += int(row["total"].replace(".", ""))
    table = Table("月份 month", "方向 direction", "张数 count", "价税合计 total")
    for (month, direction), (n, fen) in sorted(months.items())[-8:]:
        table.add_row(
            month,
            "销项 issued" if direction == "issued" else "进项 received",
            str(n),
            f"{fen / 100:,.2f}",
        )
    out.print(table)
