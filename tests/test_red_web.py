"""红字确认单 on the web over a real server, SQLite and PostgreSQL: the 红冲 block of an issued
invoice, a request by form (and one refused, shown), the list page's decisions, another tenant's
people kept out."""

from __future__ import annotations

from sqlalchemy import select

from fapiao.ledger import schema
from fapiao.red.tables import requests
from tests.test_web_support import Site, site

__all__ = ["site"]


def test_request_and_confirm_on_the_pages(site: Site) -> None:
    inv = schema.invoices
    with site.ledger.engine.connect() as conn:
        q = select(inv.c.id, inv.c.kind).where(inv.c.tenant_id == site.tenant_a, inv.c.direction == "issued")  # fmt: skip
        blue = next(r.id for r in conn.execute(q.order_by(inv.c.id)) if r.kind.startswith("digital"))  # fmt: skip
    b = site.browser()
    b.login("accountant_a")
    page = b.get(f"/invoices/{blue}")
    assert 'id="red-state"' in page.text and 'id="red-request-form"' in page.text
    token = b.csrf(f"/invoices/{blue}")
    r = b.post(f"/red/invoices/{blue}/request", data={"csrf": token, "reason": "开票有误", "items": "[]"})  # fmt: skip
    assert "red_error=" in r.headers["location"]
    assert 'id="red-error"' in b.get(r.headers["location"]).text
    r = b.post(f"/red/invoices/{blue}/request", data={"csrf": token, "reason": "开票有误"})
    assert r.status_code == 303 and "red_error" not in r.headers["location"]
    with site.ledger.engine.connect() as conn:
        rid = conn.scalar(select(requests.c.id))
    listing = b.get("/red")
    assert f'id="red-{rid}"' in listing.text and "待对方确认" in listing.text

    other = site.browser()
    other.login("accountant_b")
    assert f'id="red-{rid}"' not in other.get("/red").text
    assert other.post(f"/red/{rid}/confirm", data={"csrf": other.csrf("/red")}).status_code == 404

    r = b.post(f"/red/{rid}/confirm", data={"csrf": token})
    assert r.status_code == 303 and "red_error" not in r.headers["location"]
    page = b.get(f"/invoices/{blue}")
    assert "全额红冲" not in page.text  # the red invoice is queued, not yet numbered
    assert 'id="red-invoices"' in page.text and "draft-" in page.text  # queued, not yet numbered
    assert "red-request-form" not in page.text  # nothing left to reverse
    assert "已确认" in b.get("/red").text
