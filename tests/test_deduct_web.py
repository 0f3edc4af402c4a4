"""The 勾选 page over a real server, on SQLite and PostgreSQL: the month's candidates with the
tick-totals script, a selection saved and undone, refusals shown, the 统计确认 step, the state on
the invoice page, and a viewer who may look but not change."""

from __future__ import annotations

import re

from sqlalchemy import select

from fapiao.deduct.tables import selections
from fapiao.ledger import audit, schema
from tests.test_web_support import Site, site

__all__ = ["site"]
PERIOD = "2025-12"


def received_ids(s: Site) -> list[str]:
    inv = schema.invoices
    with s.ledger.engine.connect() as conn:
        q = select(inv.c.id).where(inv.c.tenant_id == s.tenant_a, inv.c.direction == "received")
        return [str(i) for i in conn.scalars(q.order_by(inv.c.id))]


def test_month_page_select_and_confirm(site: Site) -> None:
    ids = received_ids(site)
    assert len(ids) >= 2
    b = site.browser()
    b.login("accountant_a")
    page = b.get(f"/deduct?tenant={site.tenant_a}&period={PERIOD}")
    assert page.status_code == 200 and 'src="/static/deduct.js"' in page.text
    assert set(re.findall(r'name="pick" value="(\d+)"', page.text)) == set(ids)
    assert "/deduct" in b.get("/").text  # the navigation entry
    assert "tick-amount" in page.text and "recompute" in b.get("/static/deduct.js").text
    token = b.csrf(f"/deduct?tenant={site.tenant_a}&period={PERIOD}")
    form = {"csrf": token, "tenant": str(site.tenant_a), "period": PERIOD}

    r = b.post("/deduct/select", data={**form, "pick": ids[:2], "shown": ids})
    assert r.status_code == 303 and "ok=" in r.headers["location"]
    with site.ledger.engine.connect() as conn:
        held = {str(r.invoice_id) for r in conn.execute(select(selections))}
    assert held == set(ids[:2])
    page = b.get(r.headers["location"])
    assert page.text.count("checked") == 2

    # unticking one undoes it; a no_deduct without reason is refused and shown
    r = b.post("/deduct/select", data={**form, "pick": ids[:1], "shown": ids})
    assert r.status_code == 303
    r = b.post("/deduct/select", data={**form, "pick": ids[:2], "shown": ids, "purpose": "no_deduct"})  # fmt: skip
    assert "error=" in r.headers["location"], r.headers["location"]
    shown = b.get(r.headers["location"])
    assert 'id="deduct-error"' in shown.text and "不抵扣勾选须填写原因" in shown.text

    inv_page = b.get(f"/invoices/{ids[0]}")
    assert 'id="deduct-state"' in inv_page.text and PERIOD in inv_page.text

    # a viewer sees the page but cannot change it
    v = site.browser()
    v.login("viewer_a")
    assert v.get(f"/deduct?tenant={site.tenant_a}&period={PERIOD}").status_code == 200
    vt = v.csrf(f"/deduct?tenant={site.tenant_a}&period={PERIOD}")
    denied = v.post("/deduct/confirm", data={"csrf": vt, "tenant": str(site.tenant_a), "period": PERIOD})  # fmt: skip
    assert denied.status_code == 403
    # another tenant's page is not there for tenant A's people
    assert b.get(f"/deduct?tenant={site.tenant_b}&period={PERIOD}").status_code == 404

    r = b.post("/deduct/confirm", data=form)
    confirmed = b.get(r.headers["location"])
    assert 'id="deduct-confirmed"' in confirmed.text and 'id="deduct-select"' in confirmed.text
    assert "保存勾选" not in confirmed.text  # nothing left to change
    r = b.post("/deduct/select", data={**form, "pick": ids, "shown": ids})
    assert "error=" in r.headers["location"]
    assert audit.verify(site.ledger.engine).ok
