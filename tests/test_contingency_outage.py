"""An outage from end to end, against the sandbox running as a real child process: the platform
goes down, the breaker opens and an incident opens at that moment; paper invoices are entered
while it is down; the platform comes back, the incident closes at that moment, the queued drafts
get their numbers, the e-invoices for the paper ones appear, links are proposed and confirmed, and
the 情况说明 PDF lists exactly the affected invoices. Each step through the CLI where one exists."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import re
import time

import pypdfium2 as pdfium
import pytest
from sqlalchemy import select

from fapiao.authority.http import HttpConnector
from fapiao.codec import invoice_to_json
from fapiao.contingency.common import SHANGHAI
from fapiao.ingest import import_paths
from fapiao.ledger import audit, queries, schema
from fapiao.ledger.listing import Listing
from fapiao.model import Invoice, Kind
from fapiao.sync.worker import Settings, Worker
from fapiao_dev.sandbox.run import SandboxProcess
from tests.conftest import run_cli, write_invoice

FAST = Settings(
    confirm_after_s=0.0,
    missing_after_s=5.0,
    backoff_base_s=0.05,
    backoff_cap_s=0.2,
    breaker_threshold=2,
    breaker_cooldown_s=0.1,
    breaker_cooldown_cap_s=0.3,
    idle_s=0.05,
)


def moment(iso: str) -> float:
    return dt.datetime.fromisoformat(iso).timestamp()


def draft(path, inv: Invoice):
    doc = invoice_to_json(inv)
    doc["number"], doc["code"], doc["check_code"] = "", "", ""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return str(path)


def paper_of(factory, today) -> Invoice:
    """A paper 专票 the company writes by hand today."""
    return factory.invoice(issued=True, kind=Kind.VAT_SPECIAL, day=today)


def item_args(inv: Invoice) -> list[str]:
    out = []
    for it in inv.items:
        d = invoice_to_json(dataclasses.replace(inv, items=(it,)))["items"][0]
        spec = "|".join(
            d[k] for k in ("name", "quantity", "unit", "unit_price", "amount", "tax_rate", "tax")
        )
        out += ["--item", spec]
    return out


def write_paper_csv(path, inv: Invoice) -> None:
    d = invoice_to_json(inv)
    header = ["发票代码", "发票号码", "开票日期", "销售方名称", "销售方纳税人识别号", "购买方名称",
              "购买方纳税人识别号", "金额", "税额", "价税合计", "项目名称", "数量", "单位", "单价",
              "明细金额", "税率", "明细税额", "部门", "票种"]  # fmt: skip
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        for it in d["items"]:
            w.writerow([d["code"], d["number"], d["issue_date"], d["seller"]["name"], d["seller"]["tax_id"],
                        d["buyer"]["name"], d["buyer"]["tax_id"], d["amount"], d["tax"], d["total"],
                        it["name"], it["quantity"], it["unit"], it["unit_price"], it["amount"],
                        it["tax_rate"], it["tax"], "销售二部", "vat_special"])  # fmt: skip


@pytest.mark.slow
def test_outage_incident_paper_invoices_links_and_statement(ledger, factory, db_url, tmp_path):
    today = dt.datetime.now(SHANGHAI).date()
    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    cli = ("--db", db_url)
    for n in range(3):  # business as usual before the outage
        write_invoice(tmp_path / "before" / f"{n}.json", factory.invoice(issued=n % 2 == 0))
    import_paths(ledger, [tmp_path / "before"])
    with SandboxProcess(tmp_path / "sandbox") as sb:
        with HttpConnector(sb.url, timeout=2, connect_timeout=0.5) as conn:
            Worker(ledger, conn, FAST).run(once=True, max_seconds=30)
        before = {r["number"] for r in queries.list_invoices(ledger.engine, Listing())}
        assert len(before) == 3

        # --- the platform goes down ------------------------------------------------------------
        down_at = time.time()
        sb.stop()
        queued = [draft(tmp_path / "d" / f"{n}.json", factory.invoice(issued=True, kind=Kind.DIGITAL_SPECIAL, day=today)) for n in range(2)]  # fmt: skip
        run_cli(*cli, "issue", *queued, check=True)
        with HttpConnector(sb.url, timeout=1, connect_timeout=0.3) as conn:
            Worker(ledger, conn, FAST).run(once=True, max_seconds=10)
        seen_open = time.time()
        incidents = json.loads(run_cli(*cli, "incident", "list", "--json", check=True).stdout)
        assert [(i["cause"], i["state"]) for i in incidents] == [("breaker", "open")]
        incident = incidents[0]
        assert down_at <= moment(incident["started_at"]) <= seen_open

        # --- paper invoices while it is down: one by hand, one from a CSV ----------------------
        p1, p2 = paper_of(factory, today), paper_of(factory, today)
        d1 = invoice_to_json(p1)
        added = run_cli(
            *cli, "manual", "add", "--json", "--code", d1["code"], "--number", d1["number"],
            "--date", d1["issue_date"], "--seller-name", d1["seller"]["name"],
            "--seller-tax-id", d1["seller"]["tax_id"], "--buyer-name", d1["buyer"]["name"],
            "--buyer-tax-id", d1["buyer"]["tax_id"], "--amount", d1["amount"], "--tax", d1["tax"],
            "--total", d1["total"], "--department", "销售一部", *item_args(p1),
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        assert json.loads(added.stdout)["recorded"][0]["incident_id"] == incident["id"]
        write_paper_csv(tmp_path / "paper.csv", p2)
        imported = run_cli(
            *cli, "manual", "import", str(tmp_path / "paper.csv"), "--json", check=True
        )
        assert [r["number"] for r in json.loads(imported.stdout)["recorded"]] == [p2.number]

        # --- the platform comes back -----------------------------------------------------------
        sb.start()
        up_at = time.time()
        time.sleep(0.35)  # the probe is due after the cooldown
        with HttpConnector(sb.url, timeout=5, connect_timeout=1) as conn:
            Worker(ledger, conn, FAST).run(once=True, max_seconds=30)
        closed_seen = time.time()
        # the e-invoices for the paper ones are issued now that the platform is back
        e_drafts = [draft(tmp_path / "e" / f"{n}.json", dataclasses.replace(p, kind=Kind.DIGITAL_SPECIAL)) for n, p in enumerate((p1, p2))]  # fmt: skip
        run_cli(*cli, "issue", *e_drafts, check=True)
        with HttpConnector(sb.url, timeout=5, connect_timeout=1) as conn:
            Worker(ledger, conn, FAST).run(once=True, max_seconds=30)
        assert sb.stats()["numbers_assigned"] == 4

    rows = {r["id"]: r for r in queries.list_invoices(ledger.engine, Listing())}
    numbered = {r["source"]: r for r in rows.values()}
    assert all(
        r["authority_state"] == "confirmed" for r in rows.values() if r["source"] != "manual"
    )
    drafts_now = sorted(
        (r for r in rows.values() if r["source"] == "draft"), key=lambda r: int(r["id"])
    )
    held_numbers = {r["number"] for r in drafts_now[:2]}
    e_numbers = [r["number"] for r in drafts_now[2:]]
    assert all(len(n) == 20 for n in held_numbers | set(e_numbers)) and numbered

    # --- links proposed, confirmed by a person -------------------------------------------------
    proposals = json.loads(run_cli(*cli, "manual", "links", "--json", check=True).stdout)
    pairs = {(p["manual_key"], p["electronic_key"]) for p in proposals}
    assert pairs == {(p1.identity.key, e_numbers[0]), (p2.identity.key, e_numbers[1])}
    assert all(p["score"] == 100 for p in proposals)
    for p in proposals:
        run_cli(*cli, "manual", "confirm", str(p["id"]), check=True)

    # --- the incident: closed at the moment the platform came back, with its affected list ----
    shown = json.loads(
        run_cli(*cli, "incident", "show", str(incident["id"]), "--json", check=True).stdout
    )
    assert shown["state"] == "closed"
    assert up_at <= moment(shown["ended_at"]) <= closed_seen
    affected = {r["number"]: r for r in shown["affected"]}
    assert set(affected) == held_numbers | {p1.number, p2.number}
    assert (
        affected[p1.number]["linked"] == e_numbers[0]
        and affected[p2.number]["linked"] == e_numbers[1]
    )
    assert affected[p2.number]["department"] == "销售二部"
    assert {n["kind"] for n in shown["notes"]} >= {"opened", "manual", "linked", "closed"}

    # --- the 情况说明 lists exactly those invoices ------------------------------------------------
    pdf_path = tmp_path / "statement.pdf"
    run_cli(*cli, "incident", "statement", str(incident["id"]), "--out", str(pdf_path), check=True)
    pdf = pdfium.PdfDocument(pdf_path.read_bytes())
    text = "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    assert "情况说明" in text and factory.home.name in text
    assert f"受影响发票共 {len(affected)} 张" in text
    listed = set(re.findall(r"(?<!\d)(\d{20}|\d{8})(?!\d)", text))
    assert listed == held_numbers | {p1.number, p2.number} | set(e_numbers)
    assert not listed & before

    # --- everything in the audit chain -----------------------------------------------------------
    assert audit.verify(ledger.engine).ok
    with ledger.engine.connect() as conn:
        actions = [a for (a,) in conn.execute(select(schema.events.c.action))]
    for action in ("sync.breaker_opened", "incident.opened", "invoice.manual", "sync.breaker_closed",
                   "incident.closed", "manual.link_proposed", "manual.link_confirmed", "invoice.linked"):  # fmt: skip
        assert action in actions, action
