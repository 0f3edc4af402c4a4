"""The contingency pages over a real server, on SQLite and PostgreSQL: pause and resume, an incident
with notes and its statement, a paper invoice by form and its link, a 补开 request with materials
through its states, orders against invoices; tenants and roles respected; events in the chain."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pypdfium2 as pdfium
from sqlalchemy import select

from fapiao.codec import invoice_to_json
from fapiao.contingency.common import SHANGHAI
from fapiao.ingest import import_paths
from fapiao.ledger import audit, schema
from fapiao.model import Kind
from fapiao.sync.drafts import record_drafts
from tests.conftest import write_invoice
from tests.test_web_support import Site, site, sqlite_site

__all__ = ["site", "sqlite_site"]


def form_of(inv) -> dict[str, str]:
    d = invoice_to_json(inv)
    it = d["items"][0]
    return {
        "kind": d["kind"], "code": d["code"], "number": d["number"], "issue_date": d["issue_date"],
        "seller_name": d["seller"]["name"], "seller_tax_id": d["seller"]["tax_id"],
        "buyer_name": d["buyer"]["name"], "buyer_tax_id": d["buyer"]["tax_id"],
        "amount": d["amount"], "tax": d["tax"], "total": d["total"], "item_name": it["name"],
        "item_quantity": it["quantity"], "item_unit": it["unit"], "item_unit_price": it["unit_price"],
        "item_amount": it["amount"], "item_tax_rate": it["tax_rate"], "item_tax": it["tax"],
        "department": "财务部",
    }  # fmt: skip


def test_contingency_workflows_through_the_pages(site: Site) -> None:
    today = dt.datetime.now(SHANGHAI).date()
    b = site.browser()
    b.login("accountant_a")
    home = b.get("/contingency")
    assert home.status_code == 200 and site.factory_a.home.name in home.text
    assert site.factory_b.home.name not in home.text
    token = b.csrf("/contingency")
    a = str(site.tenant_a)

    # pause: the page says so and issuing is refused with the reason; resume
    r = b.post("/contingency/pause", data={"csrf": token, "tenant": a, "reason": "税控设备故障"})
    assert r.status_code == 303
    assert "税控设备故障" in b.get("/contingency").text
    draft = invoice_to_json(
        site.factory_a.invoice(issued=True, kind=Kind.DIGITAL_SPECIAL, day=today)
    )
    draft["number"] = ""
    path = write_invoice(site.tmp / "draft.json", draft)
    refused = record_drafts(site.ledger, [path])[0]
    assert not refused.id and any(
        f.code == "tenant_paused" and "税控设备故障" in f.message for f in refused.findings
    )
    assert b.post("/contingency/resume", data={"csrf": token, "tenant": a}).status_code == 303
    assert "已暂停" not in b.get("/contingency").text

    # an incident by hand, a note
    r = b.post(
        "/contingency/incidents",
        data={"csrf": token, "tenant": a, "title": "机房断电", "directions": "issued"},
    )
    assert r.status_code == 303
    incident_path = r.headers["location"]
    iid = int(incident_path.rsplit("/", 1)[1])
    b.post(f"{incident_path}/note", data={"csrf": token, "text": "已电话告知主管税务机关"})
    assert "已电话告知主管税务机关" in b.get(incident_path).text

    # a paper invoice by form (a bad one is refused with its finding), attached to the incident
    paper = site.factory_a.invoice(issued=True, kind=Kind.VAT_SPECIAL, day=today)
    paper = dataclasses.replace(paper, items=paper.items[:1], amount=paper.items[0].amount,
                                tax=paper.items[0].tax, total=paper.items[0].amount + paper.items[0].tax)  # fmt: skip
    bad = b.post(
        "/contingency/manual", data={**form_of(paper), "csrf": token, "tenant": a, "total": "1.00"}
    )
    assert bad.status_code == 422 and "sum_mismatch" in bad.text
    good = b.post("/contingency/manual", data={**form_of(paper), "csrf": token, "tenant": a})
    assert good.status_code == 200 and f"→ 事件 {iid}" in good.text

    # its e-invoice appears; the link is proposed and confirmed on the page
    e_inv = dataclasses.replace(paper, kind=Kind.DIGITAL_SPECIAL, code="", check_code="",
                                number=f"{today.year % 100:02d}310000000{site.tenant_a:09d}")  # fmt: skip
    write_invoice(site.tmp / "e" / "e.json", e_inv)
    import_paths(site.ledger, [site.tmp / "e"])
    page = b.get("/contingency/manual").text
    link_ids = re.findall(r'action="/contingency/links/(\d+)/confirm"', page)
    assert len(link_ids) == 1 and e_inv.number in page
    assert (
        b.post(f"/contingency/links/{link_ids[0]}/confirm", data={"csrf": token}).status_code == 303
    )
    b.post(f"{incident_path}/close", data={"csrf": token, "note": "恢复供电"})
    detail = b.get(incident_path).text
    assert "已关闭" in detail and paper.number in detail and e_inv.number in detail
    pdf = b.get(f"{incident_path}/statement.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    text = pdfium.PdfDocument(pdf.content)[0].get_textpage().get_text_range()
    assert paper.number in text and e_inv.number in text and "已电话告知主管税务机关" in text

    # a 补开 request: materials are required before submitting; the arriving invoice closes it
    lost = site.factory_a.invoice(
        issued=False, kind=Kind.DIGITAL_NORMAL, day=today - dt.timedelta(days=3)
    )
    r = b.post("/contingency/reissue", data={
        "csrf": token, "tenant": a, "invoice": lost.number, "direction": "received",
        "counterparty_tax_id": lost.seller.tax_id, "counterparty_name": lost.seller.name,
        "total": f"{lost.total / 100:.2f}", "deadline": (today + dt.timedelta(days=5)).isoformat(),
    })  # fmt: skip
    req_path = r.headers["location"]
    assert "临近截止" in b.get(req_path).text  # 5 days left, reminders from 7
    early = b.post(f"{req_path}/submit", data={"csrf": token})
    assert "缺少必需材料" in b.get(early.headers["location"]).text
    for material in ("statement", "proof"):
        files = {"file": (f"{material}.pdf", b"%PDF-1.4 " + material.encode(), "application/pdf")}
        assert (
            b.post(
                f"{req_path}/attach", data={"csrf": token, "material": material}, files=files
            ).status_code
            == 303
        )
    b.post(f"{req_path}/submit", data={"csrf": token})
    b.post(f"{req_path}/approve", data={"csrf": token, "note": "同意补开"})
    assert '<small id="state">已批准</small>' in b.get(req_path).text
    again = dataclasses.replace(
        lost, number=lost.number[:-1] + str((int(lost.number[-1]) + 1) % 10), issue_date=today
    )
    write_invoice(site.tmp / "again" / "a.json", again)
    import_paths(site.ledger, [site.tmp / "again"])
    closed = b.get(req_path).text
    assert '<small id="state">已补开</small>' in closed and again.number in closed

    # orders: one invoiced, one not
    csv_text = "订单编号,客户名称,客户税号,下单日期,含税金额\n"
    csv_text += f"SO-1,{paper.buyer.name},{paper.buyer.tax_id},{today},{paper.total / 100:.2f}\n"
    csv_text += f"SO-2,某某公司,,{today},1234567.80\n"
    r = b.post("/contingency/orders", data={"csrf": token, "tenant": a, "direction": "issued"},
               files={"file": ("orders.csv", csv_text.encode(), "text/csv")})  # fmt: skip
    assert r.status_code == 200 and 'id="report"' in r.text
    no_invoice = r.text.split('id="no-invoice"')[1].split("</table>")[0]
    assert "SO-2" in no_invoice and "SO-1" not in no_invoice
    assert "1,234,567.80" in no_invoice  # amounts as a person reads them

    # roles and tenants
    viewer = site.browser()
    viewer.login("viewer_a")
    assert (
        viewer.post(
            "/contingency/pause",
            data={"csrf": viewer.csrf("/contingency"), "tenant": a, "reason": "x"},
        ).status_code
        == 403
    )
    other = site.browser()
    other.login("accountant_b")
    assert other.get(incident_path).status_code == 404
    assert other.get(req_path).status_code == 404

    report = audit.verify(site.ledger.engine)
    assert report.ok, report.problems
    with site.ledger.engine.connect() as conn:
        seen = {
            (row.action, row.actor)
            for row in conn.execute(select(schema.events.c.action, schema.events.c.actor))
        }
    for action in ("tenant.paused", "tenant.resumed", "incident.opened", "incident.note", "invoice.manual",
                   "manual.link_confirmed", "incident.closed", "reissue.created", "reissue.attached",
                   "reissue.submitted", "reissue.approved", "orders.imported"):  # fmt: skip
        assert (action, "web:accountant_a") in seen, action
    assert any(a == "reissue.reissued" for a, _ in seen)
