"""Contingency on SQLite and PostgreSQL: pause holds the outbox and refuses issuing; a cluster of
missing invoices in a reconciliation opens one incident; 补开 requests from a finding through their
states to the arriving invoice; orders (xlsx and CSV, mapping saved) against invoices; paper
invoices from a CSV validated like any other; an incident's scope."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from fapiao.authority.records import record_from_invoice
from fapiao.codec import invoice_to_json
from fapiao.contingency import incidents, manual, orders, pause, reissue
from fapiao.contingency.common import ContingencyError
from fapiao.ingest import import_paths
from fapiao.ledger import audit, schema
from fapiao.model import Kind
from fapiao.reconcile import remedies
from fapiao.reconcile.engine import reconcile
from fapiao.reconcile.sources import Scope
from fapiao.sync import outbox
from tests.conftest import run_cli, write_invoice

DAY = dt.date(2024, 6, 3)


def actions(ledger) -> list[str]:
    with ledger.engine.connect() as conn:
        return [
            a for (a,) in conn.execute(select(schema.events.c.action).order_by(schema.events.c.seq))
        ]


def setup(ledger, factory, tmp_path, invoices):
    tid, _ = ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    for n, inv in enumerate(invoices):
        write_invoice(tmp_path / "in" / f"{n}.json", inv)
    if invoices:
        import_paths(ledger, [tmp_path / "in"])
    return tid


def test_pause_holds_the_outbox_and_refuses_issuing_with_the_reason(
    ledger, factory, db_url, tmp_path
):
    tid = setup(ledger, factory, tmp_path, [factory.invoice(day=DAY) for _ in range(3)])
    run_cli("--db", db_url, "pause", "--reason", "金税盘升级", check=True)
    assert outbox.claim(ledger, "w", limit=10, lease_s=5, now=1e12) == []
    with pytest.raises(ContingencyError):
        pause.pause(ledger, tid, "again")
    doc = invoice_to_json(factory.invoice(issued=True, kind=Kind.DIGITAL_SPECIAL, day=DAY))
    doc["number"] = ""
    refused = run_cli(
        "--db", db_url, "issue", "--json", str(write_invoice(tmp_path / "d.json", doc))
    )
    assert refused.returncode == 1
    finding = json.loads(refused.stdout)["rejected"][0]["findings"][0]
    assert finding["code"] == "tenant_paused" and "金税盘升级" in finding["message"]
    run_cli("--db", db_url, "resume", "--note", "升级完成", check=True)
    assert len(outbox.claim(ledger, "w", limit=10, lease_s=5, now=1e12)) == 3
    assert pause.paused(ledger.engine) == {}
    assert [a for a in actions(ledger) if a.startswith("tenant.")][-2:] == [
        "tenant.paused",
        "tenant.resumed",
    ]
    assert audit.verify(ledger.engine).ok


def test_a_cluster_of_missing_invoices_opens_one_incident(ledger, factory, tmp_path):
    days = [
        DAY,
        DAY + dt.timedelta(days=1),
        DAY + dt.timedelta(days=3),
        DAY + dt.timedelta(days=20),
    ]
    invs = [factory.invoice(issued=True, day=d) for d in days] + [
        factory.invoice(day=DAY) for _ in range(3)
    ]
    tid = setup(ledger, factory, tmp_path, invs)
    on_platform = invs[4:]  # the first three (a cluster) and a lone one are missing there
    scope = Scope(
        tid,
        factory.home.tax_id,
        factory.home.name,
        "2024-06",
        dt.date(2024, 6, 1),
        dt.date(2024, 6, 30),
    )
    result = reconcile(ledger.engine, scope, [record_from_invoice(i) for i in on_platform])
    assert len(result.entries["missing_at_authority"]) == 4
    opened = incidents.after_reconcile(ledger, result)
    assert len(opened) == 1
    assert incidents.after_reconcile(ledger, result) == []  # the same cluster again: nothing new
    inc = incidents.get_incident(ledger.engine, opened[0])
    assert (
        inc["cause"] == "reconcile"
        and inc["state"] == "open"
        and inc["scope"]["directions"] == ["issued"]
    )
    assert inc["started_at"].startswith("2024-06-02T16:00:00")  # 3 June, midnight in Beijing
    hit = incidents.affected(ledger.engine, inc)
    assert [r["number"] for r in hit] == [i.number for i in invs[:3]]
    assert {r["reason"] for r in hit} == {"missing_at_authority"}


def test_reissue_from_a_finding_through_its_states_to_the_arriving_invoice(
    ledger, factory, tmp_path
):
    kept = [factory.invoice(issued=False, day=DAY) for _ in range(2)]
    tid = setup(ledger, factory, tmp_path, kept)
    lost = factory.invoice(issued=False, kind=Kind.DIGITAL_NORMAL, day=DAY)  # at the platform only
    scope = Scope(tid, factory.home.tax_id, factory.home.name)
    result = reconcile(ledger.engine, scope, [record_from_invoice(i) for i in [*kept, lost]])
    remedies.record_run(ledger, result, authority="test")
    action = next(
        a for a in remedies.list_actions(ledger.engine, tenant_id=tid) if a["number"] == lost.number
    )
    rid = reissue.from_finding(
        ledger, action["id"], deadline=dt.date.today() + dt.timedelta(days=3)
    )
    req = reissue.get_request(ledger.engine, rid)
    assert (req["state"], req["original_key"], req["total"]) == ("draft", lost.number, lost.total)
    assert (
        req["counterparty_tax_id"] == lost.seller.tax_id and req["reminder"] and not req["overdue"]
    )
    assert [r["id"] for r in reissue.list_requests(ledger.engine, due_only=True)] == [rid]
    with pytest.raises(ContingencyError) as refused:
        reissue.submit(ledger, rid)
    assert refused.value.code == "materials"
    with pytest.raises(ContingencyError):
        reissue.approve(ledger, rid)  # not submitted yet
    reissue.attach(ledger, rid, "statement", "情况说明.pdf", b"%PDF statement")
    reissue.attach(ledger, rid, "proof", "合同.pdf", b"%PDF contract")
    reissue.submit(ledger, rid, "已提交税务机关")
    reissue.approve(ledger, rid, "同意")
    decoy = dataclasses.replace(lost, number=lost.number[:-2] + "77", total=lost.total + 1, amount=lost.amount + 1,
                                items=(dataclasses.replace(lost.items[0], amount=lost.items[0].amount + 1), *lost.items[1:]))  # fmt: skip
    again = dataclasses.replace(lost, number=lost.number[:-2] + "88")
    for n, inv in enumerate((decoy, again)):
        write_invoice(tmp_path / "arrive" / f"{n}.json", inv)
        import_paths(ledger, [tmp_path / "arrive" / f"{n}.json"])
        state = reissue.get_request(ledger.engine, rid)["state"]
        assert state == ("approved" if inv is decoy else "reissued")
    done = reissue.get_request(ledger.engine, rid)
    assert done["reissued_key"] == again.number and len(done["attachments"]) == 2
    assert "reissue.reissued" in actions(ledger) and "invoice.reissue_of" in actions(ledger)
    assert audit.verify(ledger.engine).ok


def _xlsx(rows) -> bytes:
    import io

    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_orders_from_xlsx_and_csv_with_a_saved_mapping_against_invoices(
    ledger, factory, db_url, tmp_path
):
    a, b, c = (factory.invoice(issued=True, day=DAY) for _ in range(3))
    a = dataclasses.replace(a, remarks="订单 PO-1")
    tid = setup(ledger, factory, tmp_path, [a, b, c])
    head = ["单据号", "客户", "客户税号", "日期", "金额(含税)", "部门"]
    rows = [
        head,
        [
            "PO-1",
            a.buyer.name,
            a.buyer.tax_id,
            DAY,
            a.total / 100 + 5,
            "一部",
        ],  # named in 备注, amount differs
        [
            "PO-2",
            b.buyer.name,
            b.buyer.tax_id,
            DAY - dt.timedelta(days=2),
            b.total / 100,
            "二部",
        ],  # same total
        ["PO-3", "无票公司", "", DAY, 10.5, "一部"],  # never invoiced
        ["PO-4", "坏行", "", "not a date", "x", ""],
    ]
    (tmp_path / "orders.xlsx").write_bytes(_xlsx(rows))
    cli = ("--db", db_url)
    first = run_cli(*cli, "orders", "import", str(tmp_path / "orders.xlsx"), "--json",
                    "--map", "order_no=单据号", "--map", "total=金额(含税)", "--map", "counterparty_name=客户")  # fmt: skip
    assert first.returncode == 1  # PO-4 rejected
    out = json.loads(first.stdout)
    assert out["imported"] == 3 and [r["row"] for r in out["rejected"]] == [5]
    assert {f["code"] for f in out["rejected"][0]["findings"]} == {"date_invalid", "field_invalid"}
    assert orders.saved_mapping(ledger.engine, tid)["order_no"] == "单据号"
    csv_text = (
        "单据号,客户,日期,金额(含税)\nPO-3,无票公司,2024-06-03,12.00\nPO-5,新客户,2024-06-04,1.00\n"
    )
    second = orders.import_orders(
        ledger, tid, "more.csv", csv_text.encode()
    )  # mapping from the first
    assert (second["imported"], second["updated"]) == (1, 1)
    report = json.loads(run_cli(*cli, "orders", "match", "--json").stdout)
    assert [o["order_no"] for o in report["matched"]] == ["PO-2"]
    assert [(o["order_no"], o["difference"]) for o in report["amount_differences"]] == [
        ("PO-1", "-5.00")
    ]
    assert [o["order_no"] for o in report["orders_without_invoice"]] == ["PO-3", "PO-5"]
    assert [i["identity_key"] for i in report["invoices_without_order"]] == [c.identity.key]
    assert "order.updated" in actions(ledger) and audit.verify(ledger.engine).ok


def test_paper_invoices_from_csv_validated_and_an_incident_scope(ledger, factory, tmp_path):
    tid = setup(ledger, factory, tmp_path, [])
    iid = incidents.open_incident(
        ledger, tenant_id=tid, title="断网", scope=incidents.Scope(departments=["销售一部"])
    )
    good, bad, other = (
        factory.invoice(issued=True, kind=Kind.VAT_NORMAL, day=DAY) for _ in range(3)
    )
    lines = [
        "发票代码,发票号码,开票日期,销售方名称,销售方纳税人识别号,购买方名称,购买方纳税人识别号,金额,税额,价税合计,项目名称,明细金额,税率,明细税额,部门,票种"
    ]
    for inv, dept, total in (
        (good, "销售一部", None),
        (bad, "销售一部", "1.00"),
        (other, "销售二部", None),
    ):
        d = invoice_to_json(inv)
        for it in d["items"]:
            lines.append(",".join([d["code"], d["number"], d["issue_date"], d["seller"]["name"], d["seller"]["tax_id"],
                                   d["buyer"]["name"], d["buyer"]["tax_id"], d["amount"], d["tax"], total or d["total"],
                                   it["name"], it["amount"], it["tax_rate"], it["tax"], dept, "vat_normal"]))  # fmt: skip
    data = "\n".join(lines).encode("gb18030")
    outcomes = manual.record(
        ledger, tid, manual.from_csv("paper.csv", data), original=("paper.csv", data)
    )
    by_number = {o.number: o for o in outcomes}
    assert by_number[good.number].id and by_number[other.number].id
    assert not by_number[bad.number].id
    assert "sum_mismatch" in {f.code for f in by_number[bad.number].findings}
    with ledger.engine.connect() as conn:
        assert conn.scalar(select(schema.quarantine.c.file_name)) == "paper.csv"
    hit = incidents.affected(ledger.engine, incidents.get_incident(ledger.engine, iid))
    assert [r["number"] for r in hit] == [good.number]  # the other department is out of scope
    assert manual.propose(ledger) == []  # no e-invoice yet
    assert audit.verify(ledger.engine).ok
