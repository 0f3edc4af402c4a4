"""红字确认单 from the command line, on SQLite and PostgreSQL: a partial then a full reversal, the
red invoice issued through the outbox to the sandbox platform and linked to its blue original, the
sum of reds never beyond the blue, rejection and the 72-hour expiry freeing what a request held,
four eyes, and every refusal leaving the ledger as it was."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select, update

from fapiao.ledger import audit, schema
from fapiao.ledger.policies import set_four_eyes
from fapiao.ledger.store import Ledger
from fapiao.money import format_fen
from fapiao.ops.checks import Probe
from fapiao.red import service
from fapiao.red.checks import CHECKS
from fapiao.red.state import of_blue
from fapiao.red.tables import requests
from fapiao_dev.sandbox.run import SandboxThread
from tests.inbound_support import Books, make_books


@pytest.fixture
def books(db_url: str, tmp_path: Path) -> Books:
    b = make_books(db_url, tmp_path)
    yield b
    b.ledger.engine.dispose()


def blue_state(books: Books, number: str) -> dict:
    t = schema.invoices
    with books.ledger.engine.connect() as conn:
        row = conn.execute(select(t).where(t.c.identity_key == number, t.c.direction == "issued")).one()  # fmt: skip
        return of_blue(conn, dict(row._mapping))


def test_partial_then_full_through_the_outbox(books: Books, tmp_path: Path) -> None:
    blue = books.issued
    line = blue.items[0]
    part = json.dumps([{"line": 1, "amount": "100.00", "tax": format_fen(round(10000 * float(line.tax_rate)))}])  # fmt: skip
    rc, req = books.cli_json("red", "request", blue.number, "--reason", "销售折让", "--items", part)
    assert rc == 0 and req["state"] == "pending" and req["amount"] == "-100.00"
    deadline = dt.datetime.fromisoformat(req["deadline"])
    requested = dt.datetime.fromisoformat(req["requested_at"])
    assert deadline - requested == dt.timedelta(hours=72)

    # the whole invoice no longer fits beside the pending part: refused, nothing changed
    before = books.events()
    rc, got = books.cli_json("red", "request", blue.number, "--reason", "销货退回", "--all")
    assert rc == 1 and {f["code"] for f in got["refused"]} == {"red_exceeds_blue"}
    assert books.events() == before

    rc, done = books.cli_json("red", "confirm", req["id"])
    assert rc == 0 and done["state"] == "issued" and done["red_invoice_id"]
    red = books.cli_json("show", done["red_invoice_id"])[1]
    assert red["status"] == "red" and red["original"]["number"] == blue.number
    assert red["total"] == req["total"] and red["authority_state"] == "queued"

    with SandboxThread(tmp_path / "sb") as sb:
        res = books.cli("sync", "--authority", sb.url, "--once", "--confirm-after", "0")
        assert res.exit_code == 0, res.output
    red = books.cli_json("show", done["red_invoice_id"])[1]
    assert len(red["number"]) == 20 and red["authority_state"] in ("uploaded", "confirmed")
    state = blue_state(books, blue.number)
    assert state["red_state"] == "部分红冲" and state["reversed"] == req["total"].lstrip("-")

    # the rest of the blue, line by line, brings it to 全额红冲; then nothing more fits
    rest = [{"line": 1, "amount": format_fen(line.amount - 10000), "tax": format_fen(line.tax - round(10000 * float(line.tax_rate)))}]  # fmt: skip
    rest += [{"line": n, "amount": format_fen(it.amount), "tax": format_fen(it.tax)} for n, it in enumerate(blue.items[1:], start=2)]  # fmt: skip
    rc, req2 = books.cli_json("red", "request", blue.number, "--reason", "销货退回", "--items", json.dumps(rest))  # fmt: skip
    assert rc == 0, req2
    assert books.cli_json("red", "confirm", req2["id"])[0] == 0
    assert (
        blue_state(books, blue.number)["red_state"] == "部分红冲"
    )  # until the platform numbers it
    with SandboxThread(tmp_path / "sb") as sb:
        assert books.cli("sync", "--authority", sb.url, "--once", "--confirm-after", "0").exit_code == 0  # fmt: skip
    assert blue_state(books, blue.number)["red_state"] == "全额红冲"
    one_fen = json.dumps([{"line": 1, "amount": "0.01", "tax": "0"}])
    assert books.cli_json("red", "request", blue.number, "--reason", "开票有误", "--items", one_fen)[0] == 1  # fmt: skip
    assert audit.verify(books.ledger.engine).ok


def test_refusals_reject_and_expiry(books: Books) -> None:
    blue = books.more_issued[0]
    before = books.events()
    cases = [
        (["red", "request", books.received[0].number, "--reason", "开票有误", "--all"], "red_blue_invalid"),
        (["red", "request", blue.number, "--reason", "不想要了", "--all"], "red_reason_invalid"),
        (["red", "request", blue.number, "--reason", "开票有误", "--items", "[{\"line\": 9, \"amount\": \"1\"}]"], "red_items_invalid"),
        (["red", "request", blue.number, "--reason", "开票有误", "--items", "not json"], "red_items_invalid"),
        (["red", "request", "404", "--reason", "开票有误", "--all"], "red_blue_not_found"),
        (["red", "confirm", "999999"], "red_request_not_found"),
    ]  # fmt: skip
    for args, code in cases:
        rc, got = books.cli_json(*args)
        assert rc == 1 and [f["code"] for f in got["refused"]] == [code], (args, got)
    assert books.cli("red", "request", blue.number, "--reason", "开票有误").exit_code == 2
    assert books.events() == before

    # rejected: what it held is free again
    rc, req = books.cli_json("red", "request", blue.number, "--reason", "开票有误", "--all")
    assert rc == 0
    assert books.cli_json("red", "reject", req["id"])[1]["state"] == "rejected"
    assert books.cli_json("red", "confirm", req["id"])[1]["refused"][0]["code"] == "red_wrong_state"

    # 72 hours pass without a confirmation: it expires (recorded), the amount is free again
    rc, req = books.cli_json("red", "request", blue.number, "--reason", "开票有误", "--all")
    later = dt.datetime.fromisoformat(req["requested_at"]) + dt.timedelta(hours=73)
    done, problems = service.confirm(books.ledger, rid=req["id"], now=later)
    assert done == [] and [p.code for p in problems] == ["red_expired"]
    rc, rows = books.cli_json("red", "list", "--state", "expired")
    assert [r["id"] for r in rows] == [req["id"]]
    assert blue_state(books, blue.number)["pending"] == "0.00"
    assert books.cli_json("red", "request", blue.number, "--reason", "开票有误", "--all")[0] == 0
    assert audit.verify(books.ledger.engine).ok


def test_four_eyes(books: Books) -> None:
    blue = books.more_issued[1]
    set_four_eyes(books.ledger, books.tenant, True)
    rc, req = books.cli_json("red", "request", blue.number, "--reason", "服务中止", "--all", user="zhang")  # fmt: skip
    assert rc == 0 and req["state"] == "awaiting_approval" and req["deadline"] == ""
    assert books.cli_json("red", "confirm", req["id"])[1]["refused"][0]["code"] == "red_wrong_state"
    rc, got = books.cli_json("red", "approve", req["id"], user="zhang")
    assert rc == 1 and got["refused"][0]["code"] == "red_four_eyes" and "zhang" in got["refused"][0]["message"]  # fmt: skip
    rc, ok = books.cli_json("red", "approve", req["id"], user="li")
    assert rc == 0 and ok["state"] == "pending" and ok["approved_by"] == "cli:li"
    done, _ = service.confirm(Ledger(books.ledger.engine, actor="cli:li"), rid=req["id"])
    assert done[0]["state"] == "issued"

    # the self-check replays the requests' events: a state set behind the chain is found
    assert CHECKS["red_chain"](Probe(books.ledger.engine)).level == "ok"
    with books.ledger.engine.begin() as conn:
        conn.execute(update(requests).values(state="pending"))
    check = CHECKS["red_chain"](Probe(books.ledger.engine))
    assert check.level == "fail" and check.data["keys"] == [req["id"]]
