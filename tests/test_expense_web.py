"""入账 and 报销 on an invoice's page over a real server, SQLite and PostgreSQL: the state shown,
book and claim by form, a second claim refused on the page naming the first, a viewer refused."""

from __future__ import annotations

from sqlalchemy import select

from fapiao.ledger import schema
from tests.test_web_support import Site, site

__all__ = ["site"]


def test_book_and_claim_on_the_invoice_page(site: Site) -> None:
    inv = schema.invoices
    with site.ledger.engine.connect() as conn:
        q = select(inv.c.id).where(inv.c.tenant_id == site.tenant_a, inv.c.direction == "received", inv.c.status == "normal")  # fmt: skip
        iid = conn.scalars(q.order_by(inv.c.id)).first()
    b = site.browser()
    b.login("accountant_a")
    page = b.get(f"/invoices/{iid}")
    assert 'id="expense-state"' in page.text and "未入账" in page.text and "未报销" in page.text
    token = b.csrf(f"/invoices/{iid}")

    r = b.post(f"/expense/invoices/{iid}/book", data={"csrf": token, "voucher": "记-7"})
    assert r.status_code == 303
    r = b.post(f"/expense/invoices/{iid}/claim", data={"csrf": token, "claim_no": "BX-9", "person": "张三"})  # fmt: skip
    page = b.get(f"/invoices/{iid}")
    assert "记-7" in page.text and "BX-9" in page.text and "撤销报销" in page.text

    r = b.post(f"/expense/invoices/{iid}/claim", data={"csrf": token, "claim_no": "BX-10"})
    page = b.get(r.headers["location"])
    assert 'id="expense-error"' in page.text and "不能重复报销" in page.text

    listing = b.get(f"/expense?tenant={site.tenant_a}&state=claimed")
    assert listing.status_code == 200 and f'href="/invoices/{iid}"' in listing.text
    assert "BX-9" in listing.text and listing.text.count('href="/invoices/') == 1
    unclaimed = b.get(f"/expense?tenant={site.tenant_a}&state=unclaimed")
    assert f'href="/invoices/{iid}"' not in unclaimed.text
    assert b.get(f"/expense?tenant={site.tenant_b}").status_code == 404
    assert b.get(f"/expense?tenant={site.tenant_a}&state=paid").status_code == 400

    b.post(f"/expense/invoices/{iid}/release", data={"csrf": token})
    assert "未报销" in b.get(f"/invoices/{iid}").text

    v = site.browser()
    v.login("viewer_a")
    vt = v.csrf(f"/invoices/{iid}")
    assert v.post(f"/expense/invoices/{iid}/unbook", data={"csrf": vt}).status_code == 403
    other = site.browser()
    other.login("accountant_b")
    ot = other.csrf("/")
    assert other.post(f"/expense/invoices/{iid}/unbook", data={"csrf": ot}).status_code == 404
