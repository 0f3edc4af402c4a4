"""勾选 / 用途确认 from the command line, on SQLite and PostgreSQL: totals by purpose and rate, the
统计确认 that locks a period, and every refusal (issued, red, another period, 查验 failed, confirmed
period) leaving the ledger as it was; each step an event in an intact chain."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from fapiao.authority.connector import VerifyResult
from fapiao.insight.verify import RateLimit, verify_invoices
from fapiao.ledger import audit
from fapiao.money import format_fen
from tests.inbound_support import Books, make_books


@pytest.fixture
def books(db_url: str, tmp_path: Path) -> Books:
    b = make_books(db_url, tmp_path)
    yield b
    b.ledger.engine.dispose()


class Answers:
    """The authority's 查验 answer for each number (the part of the connector 查验 uses)."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers

    def verify(self, identity, issue_date, **_kw) -> VerifyResult:
        return VerifyResult(self.answers.get(identity.number, "match"))


def codes(findings: list[dict]) -> set[str]:
    return {f["code"] for f in findings}


def test_select_status_confirm(books: Books) -> None:
    r0, r1, r2, _ = books.received
    rc, got = books.cli_json("deduct", "select", r0.number, r1.number, "--tenant", str(books.tenant), "--period", "2024-11")  # fmt: skip
    assert rc == 0 and [s["key"] for s in got["selected"]] == [r0.number, r1.number]
    rc, got = books.cli_json("deduct", "select", r2.number, "--tenant", books.factory.home.tax_id, "--period", "2024-11", "--purpose", "no_deduct", "--reason", "集体福利")  # fmt: skip
    assert rc == 0 and got["selected"][0]["purpose"] == "no_deduct"

    rc, status = books.cli_json("deduct", "status", "--tenant", str(books.tenant), "--period", "2024-11")  # fmt: skip
    deduct = status["purposes"]["deduct"]
    assert deduct == {
        "count": 2,
        "amount": format_fen(r0.amount + r1.amount),
        "tax": format_fen(r0.tax + r1.tax),
    }
    assert status["purposes"]["no_deduct"]["tax"] == format_fen(r2.tax)
    rates = {}
    for inv in (r0, r1):
        for item in inv.items:
            rates[item.tax_rate] = rates.get(item.tax_rate, 0) + item.tax
    by_rate = {r["tax_rate"]: r["tax"] for r in status["by_rate"] if r["purpose"] == "deduct"}
    assert by_rate == {rate: format_fen(tax) for rate, tax in rates.items()}
    assert status["confirmed"] is False and len(status["invoices"]) == 3

    rc, done = books.cli_json("deduct", "confirm", "--tenant", str(books.tenant), "--period", "2024-11")  # fmt: skip
    assert rc == 0 and done["confirmed"] and done["purposes"]["deduct"] == deduct

    # the confirmed period is locked: no more selections, no undo, no second confirm
    before = books.events()
    rc, got = books.cli_json("deduct", "select", r2.number, "--tenant", str(books.tenant), "--period", "2024-11")  # fmt: skip
    assert rc == 1 and codes(got["refused"]) == {"deduct_period_confirmed"} and not got["selected"]
    rc, got = books.cli_json("deduct", "unselect", r0.number, "--tenant", str(books.tenant))
    assert rc == 1 and codes(got["refused"]) == {"deduct_period_confirmed"}
    assert books.cli("deduct", "confirm", "--tenant", str(books.tenant), "--period", "2024-11").exit_code == 1  # fmt: skip
    assert books.events() == before

    report = audit.verify(books.ledger.engine)
    assert report.ok, report.problems
    shown = books.cli_json("show", r0.number)[1]
    assert "deduct.selected" in [e["action"] for e in shown["events"]]


def test_refusals_change_nothing(books: Books) -> None:
    r0, r1, _r2, r3 = books.received
    t = str(books.tenant)
    verify_invoices(
        books.ledger,
        Answers({r3.number: "not_found"}),
        [int(books.id_of(r3))],
        rate=RateLimit(1000.0),
    )
    assert books.cli("deduct", "select", r1.number, "--tenant", t, "--period", "2024-12").exit_code == 0  # fmt: skip
    before = books.events()
    rc, got = books.cli_json(
        "deduct", "select", r0.number, books.issued.number, books.red.number, r1.number,
        r3.number, "404404", "--tenant", t, "--period", "2024-11",
    )  # fmt: skip
    assert rc == 1 and got["selected"] == []
    assert codes(got["refused"]) == {
        "deduct_not_received",
        "deduct_not_normal",
        "deduct_other_period",
        "deduct_verify_failed",
        "deduct_not_found",
    }
    for f in got["refused"]:
        assert f["message"] and f["message_en"] and f["severity"] == "error"
    assert books.events() == before
    status = books.cli_json("deduct", "status", "--tenant", t, "--period", "2024-11")[1]
    assert status["purposes"]["deduct"]["count"] == 0

    # no_deduct needs a reason; an invoice issued after the period; a bad period is a usage error
    rc, got = books.cli_json("deduct", "select", r0.number, "--tenant", t, "--period", "2024-11", "--purpose", "no_deduct")  # fmt: skip
    assert rc == 1 and codes(got["refused"]) == {"deduct_reason_missing"}
    rc, got = books.cli_json("deduct", "select", r0.number, "--tenant", t, "--period", "2024-10")
    assert rc == 1 and codes(got["refused"]) == {"deduct_period_early"}
    assert books.cli("deduct", "select", r0.number, "--tenant", t, "--period", "2024-13").exit_code == 2  # fmt: skip
    assert books.cli("deduct", "status", "--tenant", "999", "--period", "2024-11").exit_code == 2
    assert books.events() == before

    # undo (in the period named, when one is), then the other period may take it
    rc, got = books.cli_json("deduct", "unselect", r1.number, "--tenant", t, "--period", "2024-11")
    assert rc == 1 and got["refused"][0]["code"] == "deduct_other_period"
    rc, got = books.cli_json("deduct", "unselect", r1.number, "--tenant", t)
    assert rc == 0 and got["unselected"][0]["period"] == "2024-12"
    rc, got = books.cli_json("deduct", "select", r1.number, "--tenant", t, "--period", "2024-11")
    assert rc == 0
    assert audit.verify(books.ledger.engine).ok


def test_a_later_match_clears_the_verify_refusal(books: Books) -> None:
    r0 = books.received[0]
    t, rid = str(books.tenant), int(books.id_of(r0))
    verify_invoices(books.ledger, Answers({r0.number: "mismatch"}), [rid], rate=RateLimit(1000.0))
    rc, got = books.cli_json("deduct", "select", r0.number, "--tenant", t, "--period", "2024-11")
    assert rc == 1 and "与平台记录不符" in got["refused"][0]["message"]
    verify_invoices(
        books.ledger, Answers({}), [rid], rate=RateLimit(1000.0), today=lambda: dt.date(2030, 1, 1)
    )
    assert books.cli("deduct", "select", r0.number, "--tenant", t, "--period", "2024-11").exit_code == 0  # fmt: skip


def test_the_self_check_finds_rows_changed_behind_the_chain(books: Books) -> None:
    from sqlalchemy import update

    from fapiao.deduct.checks import CHECKS
    from fapiao.deduct.tables import selections
    from fapiao.ops.checks import Probe

    t = str(books.tenant)
    r0, r1 = books.received[:2]
    assert books.cli("deduct", "select", r0.number, r1.number, "--tenant", t, "--period", "2024-11").exit_code == 0  # fmt: skip
    assert books.cli("deduct", "unselect", r1.number, "--tenant", t).exit_code == 0
    check = CHECKS["deduct_chain"](Probe(books.ledger.engine))
    assert check.level == "ok", check.en
    with books.ledger.engine.begin() as conn:
        conn.execute(update(selections).values(purpose="no_deduct"))
    check = CHECKS["deduct_chain"](Probe(books.ledger.engine))
    assert check.level == "fail" and books.id_of(r0) in check.data["keys"]


def test_racing_selections_for_two_periods_one_wins(books: Books) -> None:
    import threading

    from fapiao.deduct import service
    from fapiao.ledger.store import Ledger

    number = books.received[0].number
    start = threading.Barrier(2)
    results: dict[str, tuple] = {}

    def run(period: str) -> None:
        start.wait()
        led = Ledger(books.ledger.engine, actor=f"cli:{period}")
        results[period] = service.select_invoices(
            led, tenant_id=books.tenant, period=period, keys=[number]
        )

    threads = [threading.Thread(target=run, args=(p,)) for p in ("2024-11", "2024-12")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    winners = [p for p, (done, _) in results.items() if done]
    assert len(winners) == 1
    (loser,) = set(results) - set(winners)
    assert [f.code for f in results[loser][1]] == ["deduct_other_period"]


def test_a_fully_reversed_invoice_is_refused(books: Books) -> None:
    r3 = books.received[3]  # books.red reverses it in full
    rc, got = books.cli_json("deduct", "select", r3.number, "--tenant", str(books.tenant), "--period", "2024-11")  # fmt: skip
    assert rc == 1 and [f["code"] for f in got["refused"]] == ["deduct_not_normal"]
    assert "全额红冲" in got["refused"][0]["message"]
