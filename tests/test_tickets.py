"""Repair tickets and notices on SQLite and PostgreSQL: a ticket's whole life, every step an event
in a chain that still verifies; refusals; notices posted and withdrawn. The same life through a
real browser is in test_tickets_browser.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from fapiao.auth import users as auth
from fapiao.ledger import audit
from fapiao.ledger.store import Ledger
from fapiao.ops import notices, tickets
from tests.test_ops import seeded
from tests.test_web_support import PASSWORD


def test_a_ticket_from_filing_to_closing_keeps_every_step(ledger: Ledger, tmp_path: Path) -> None:
    seeded(ledger, tmp_path, n=2)
    auth.add_user(ledger, name="desk", password=PASSWORD, role="support")
    with ledger.engine.connect() as conn:
        invoice_id = conn.execute(text("SELECT min(id) FROM invoices")).scalar()
    clerk = Ledger(ledger.engine, actor="web:clerk")
    desk = Ledger(ledger.engine, actor="web:desk")
    tid = tickets.file_ticket(
        clerk,
        reporter="clerk",
        symptoms="上传 OFD 后页面一直转圈",
        category="import",
        place="财务部 3 楼",
        occurred_at="2025-03-01T09:30",
        invoice_ids=[invoice_id],
        attachments=[("screen.png", b"\x89PNG fake")],
    )
    tickets.triage(desk, tid, priority="high", text="影响开票")
    tickets.assign(desk, tid, assignee="desk")
    tickets.answer(desk, tid, text="已重启解析进程，请重试")
    tickets.comment(clerk, tid, text="可以了，谢谢")
    tickets.close(desk, tid, text="已解决")
    got = tickets.get(ledger.engine, tid)
    assert got is not None
    assert got["state"] == "closed" and got["priority"] == "high" and got["assignee"] == "desk"
    assert got["occurred_at"] == "2025-03-01T01:30:00+00:00"  # Beijing wall clock, stored in UTC
    assert got["invoice_ids"] == [invoice_id] and got["tenant_id"] is not None
    assert [s["action"] for s in got["steps"]] == [
        "filed",
        "triaged",
        "assigned",
        "answered",
        "commented",
        "closed",
    ]
    assert [s["actor"] for s in got["steps"]][:2] == ["web:clerk", "web:desk"]
    assert tickets.attachment(ledger.engine, tid, got["files"][0]["id"]) == (
        "screen.png",
        b"\x89PNG fake",
    )
    with pytest.raises(tickets.TicketError) as closed:
        tickets.answer(desk, tid, text="again")
    assert closed.value.code == "closed"
    tickets.reopen(clerk, tid, text="又出现了")
    assert tickets.get(ledger.engine, tid)["state"] == "open"  # type: ignore[index]
    with ledger.engine.connect() as conn:
        events = [
            r[0]
            for r in conn.execute(
                text("SELECT action FROM events WHERE entity = 'ticket' ORDER BY seq")
            )
        ]
    assert events == [
        f"ticket.{a}"
        for a in ("filed", "triaged", "assigned", "answered", "commented", "closed", "reopened")
    ]
    assert audit.verify(ledger.engine).ok


def test_refusals_are_clear(ledger: Ledger, tmp_path: Path) -> None:
    seeded(ledger, tmp_path, n=1)
    auth.add_user(ledger, name="viewer1", password=PASSWORD, role="viewer")
    cases = [
        (dict(symptoms=""), "missing"),
        (dict(symptoms="x", category="weather"), "bad_category"),
        (dict(symptoms="x", invoice_ids=[999999]), "no_invoice"),
        (dict(symptoms="x", occurred_at="yesterday"), "bad_time"),
        (dict(symptoms="x", attachments=[("a", b"1")] * 6), "too_many_files"),
    ]
    for kwargs, code in cases:
        with pytest.raises(tickets.TicketError) as exc:
            tickets.file_ticket(ledger, reporter="someone", **kwargs)  # type: ignore[arg-type]
        assert exc.value.code == code and exc.value.zh and exc.value.en
    with ledger.engine.connect() as conn:
        some_invoice = conn.execute(text("SELECT id FROM invoices")).scalar()
    with pytest.raises(
        tickets.TicketError
    ) as hidden:  # an invoice of a tenant the reporter cannot see
        tickets.file_ticket(
            ledger,
            reporter="x",
            symptoms="x",
            invoice_ids=[some_invoice],
            visible_tenants=frozenset(),
        )
    assert hidden.value.code == "no_invoice"
    tid = tickets.file_ticket(ledger, reporter="x", symptoms="打印机不出纸")
    with pytest.raises(tickets.TicketError) as bad:
        tickets.assign(ledger, tid, assignee="viewer1")
    assert bad.value.code == "bad_assignee"
    assert tickets.counts(ledger.engine)["open"] == 1


def test_notices_are_posted_listed_and_withdrawn(ledger: Ledger, db_url: str) -> None:
    from tests.conftest import run_cli

    nid = notices.post_notice(
        ledger,
        title="电子税务局系统升级",
        issuer="国家税务总局北京市税务局",
        scope="北京 · 开票与查验",
        starts_on="2000-01-01",
        ends_on="2999-01-01",
        body="升级期间暂停开票",
    )
    later = notices.post_notice(ledger, title="下月维护", starts_on="2999-06-01")
    listed = notices.list_notices(ledger.engine)
    assert [n["id"] for n in listed["current"]] == [nid] and [
        n["id"] for n in listed["upcoming"]
    ] == [later]
    notices.withdraw_notice(ledger, nid)
    assert [n["id"] for n in notices.list_notices(ledger.engine)["past"]] == [nid]
    with pytest.raises(notices.NoticeError):
        notices.post_notice(ledger, title="x", starts_on="2025-02-01", ends_on="2025-01-01")
    proc = run_cli("--db", db_url, "notice", "list", "--json", check=True)
    assert json.loads(proc.stdout)["past"][0]["title"] == "电子税务局系统升级"
    assert audit.verify(ledger.engine).ok
