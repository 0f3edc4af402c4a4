"""入账, 报销, 勾选 and 红冲 in the web's invoice list and the API over a real server, SQLite and
PostgreSQL: the list shows each state's column and filters on it (the filter kept in paging and
export links), the exports carry the states' columns, the API filters alike and adds the states it
is asked to `include`, and a state that does not exist is refused."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from fapiao.expense import service
from fapiao.ledger import schema
from fapiao.ledger.store import Ledger
from tests.test_web_support import Site, site

__all__ = ["site"]


def received(site: Site) -> list[int]:
    inv = schema.invoices
    q = select(inv.c.id).where(
        inv.c.tenant_id == site.tenant_a, inv.c.direction == "received", inv.c.status == "normal"
    )
    with site.ledger.engine.connect() as conn:
        return list(conn.scalars(q.order_by(inv.c.id)))


def mark(site: Site) -> tuple[int, int]:
    """One received invoice booked (voucher 记-0042), another claimed (BX-0042, 王五)."""
    ids = received(site)
    assert len(ids) >= 2, "the site needs two received invoices of tenant a"
    led = Ledger(site.ledger.engine, actor="test")
    assert service.book(led, keys=[str(ids[0])], voucher="记-0042")[1] == []
    assert service.claim(led, keys=[str(ids[1])], claim_no="BX-0042", person="王五")[1] == []
    return ids[0], ids[1]


def test_list_page_api_and_exports_filter_on_the_states(site: Site) -> None:
    booked, claimed = mark(site)
    b = site.browser()
    b.login("accountant_a")

    page = b.get("/invoices", params={"limit": 200})
    assert page.status_code == 200
    for header in ("入账状态", "报销状态", "勾选状态", "红冲状态"):
        assert header in page.text
    assert "记-0042" in page.text and "BX-0042" in page.text and "王五" in page.text

    only = b.get("/invoices", params={"state": "booked"})
    assert only.text.count('<td><a href="/invoices/') == 1
    assert f'href="/invoices/{booked}"' in only.text
    assert 'value="booked" selected' in only.text
    # the filter rides along in the export link, and the CSV carries the states
    assert "state=booked" in only.text
    export = b.get("/invoices/export.csv", params={"state": "booked"})
    table = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    head, rows = table[0], table[1:]
    assert len(rows) == 1 and rows[0][head.index("入账状态")] == "已入账"
    assert rows[0][head.index("凭证号")] == "记-0042"

    both = b.get("/invoices", params=[("state", "unbooked"), ("state", "claimed")])
    assert (
        f'href="/invoices/{claimed}"' in both.text and f'href="/invoices/{booked}"' not in both.text
    )
    assert b.get("/invoices", params={"state": "paid"}).status_code == 400

    api = b.get("/api/v1/invoices", params={"state": "claimed", "include": "claim,booking"})
    (item,) = api.json()["items"]
    assert item["id"] == str(claimed)
    assert item["claim"]["state"] == "claimed" and item["claim"]["person"] == "王五"
    assert item["booking"] == {"state": "unbooked", "voucher": None, "at": None, "by": None}
    assert "deduction" not in item  # only the states asked for
    plain = b.get("/api/v1/invoices", params={"state": "booked"}).json()["items"]
    assert [i["id"] for i in plain] == [str(booked)] and "booking" not in plain[0]
    assert b.get("/api/v1/invoices", params={"state": "paid"}).status_code == 422
    assert b.get("/api/v1/invoices", params={"include": "salary"}).status_code == 422
    machine = b.get("/api/v1/invoices/export", params={"state": "booked"})
    table = list(csv.reader(io.StringIO(machine.content.decode("utf-8-sig"))))
    assert table[1][table[0].index("booking.voucher")] == "记-0042"

    # another tenant's user sees none of tenant a's states
    other = site.browser()
    other.login("accountant_b")
    assert other.get("/api/v1/invoices", params={"state": "booked"}).json()["items"] == []


def test_a_red_invoice_and_its_blue_one_show_each_other(site: Site) -> None:
    """A received blue invoice the seller reversed in full: 全额红冲 on its page and in the list's
    filter; the red invoice's page links back to it."""
    from fapiao.ingest import import_paths
    from tests.conftest import write_invoice

    blue = site.factory_a.invoice(issued=False)
    red = site.factory_a.red_of(blue)
    write_invoice(site.tmp / "reds" / "blue.json", blue)
    write_invoice(site.tmp / "reds" / "red.json", red)
    done = import_paths(Ledger(site.ledger.engine, actor="test"), [site.tmp / "reds"])
    ids = {o.number: o.id for o in done.imported}
    b = site.browser()
    b.login("accountant_a")

    blue_page = b.get(f"/invoices/{ids[blue.number]}").text
    assert 'id="red-state"' in blue_page and "全额红冲" in blue_page
    assert f'href="/invoices/{ids[red.number]}"' in blue_page
    assert 'id="red-request-form"' not in blue_page  # the seller asks, not the buyer
    red_page = b.get(f"/invoices/{ids[red.number]}").text
    assert f'id="red-blue-link">{blue.number}<' in red_page
    assert f'href="/invoices/{ids[blue.number]}"' in red_page

    listed = b.get("/invoices", params={"state": "red_full"}).text
    assert listed.count('<td><a href="/invoices/') == 1 and blue.number in listed
    assert (
        b.get("/invoices", params={"state": "red_partial"}).text.count('<td><a href="/invoices/')
        == 0
    )
