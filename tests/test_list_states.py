"""The capabilities' states in every listing, from the command line on SQLite and PostgreSQL:
`fapiao list --state …` filters on 入账, 报销, 勾选 and 红冲 in the SQL (OR within one state, AND
across), `--json` carries each state, the CSV has its columns (Chinese headers, codes under
`--headers en`), and the API filters alike. The core declares none of them: each comes from a
capability's `plugin.py` (`Capability.states`)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from fapiao import plugins
from fapiao.ledger import listing_sql, listing_states
from fapiao.ledger.listing import BadQuery, Listing
from tests.inbound_support import Books, make_books


@pytest.fixture
def books(db_url: str, tmp_path: Path) -> Books:
    b = make_books(db_url, tmp_path)
    yield b
    b.ledger.engine.dispose()


def numbers(books: Books, *args: str) -> set[str]:
    rc, rows = books.cli_json("list", *args)
    assert rc == 0
    return {r["number"] for r in rows}


def test_list_filters_and_shows_every_state(books: Books, monkeypatch: pytest.MonkeyPatch) -> None:
    r0, r1, r2, r3 = books.received
    t = str(books.tenant)
    assert books.cli("book", r0.number, "--voucher", "记-0012").exit_code == 0
    assert books.cli("expense", "claim", r0.number, r1.number, "--claim", "BX-7", "--person", "张三").exit_code == 0  # fmt: skip
    assert books.cli("deduct", "select", r2.number, "--tenant", t, "--period", "2024-11").exit_code == 0  # fmt: skip

    assert numbers(books, "--state", "booked") == {r0.number}
    # received blue invoices only: issued ones are neither booked nor unbooked
    assert numbers(books, "--state", "unbooked") == {
        r1.number,
        r2.number,
        r3.number,
        books.red.number,
    }
    assert numbers(books, "--state", "claimed") == {r0.number, r1.number}
    assert numbers(books, "--state", "claimed", "--state", "unbooked") == {r1.number}
    assert numbers(books, "--state", "unclaimed") == {r2.number, r3.number}  # red: not claimable
    assert numbers(books, "--state", "selected") == {r2.number}
    assert numbers(books, "--state", "red_full") == {r3.number}  # books.red reverses it in full
    assert numbers(books, "--state", "red_partial") == set()
    assert numbers(books, "--state", "red_partial,red_full") == {r3.number}  # OR within a state
    assert numbers(books, "--state", "booked", "--state", "selected") == set()  # AND across
    # a state few invoices are in is read from its own table; many, probed row by row: same answers
    few = {
        st: numbers(books, "--state", st)
        for st in ("booked", "claimed", "selected", "red_full", "red_partial,red_full")
    }
    monkeypatch.setattr(listing_states, "DRIVE_BELOW", 0)
    assert {st: numbers(books, "--state", st) for st in few} == few
    monkeypatch.undo()

    _, rows = books.cli_json("list", "--direction", "received")
    by = {r["number"]: r for r in rows}
    assert by[r0.number]["booking"]["state"] == "booked"
    assert by[r0.number]["booking"]["voucher"] == "记-0012"
    assert by[r1.number]["booking"] == {
        "state": "unbooked",
        "voucher": None,
        "at": None,
        "by": None,
    }
    assert by[r1.number]["claim"]["claim"] == "BX-7" and by[r1.number]["claim"]["person"] == "张三"
    d = by[r2.number]["deduction"]
    assert (d["state"], d["period"], d["purpose"], d["confirmed"]) == ("selected", "2024-11", "deduct", False)  # fmt: skip
    assert by[r3.number]["reversal"] == {"state": "red_full", "reversed": by[r3.number]["total"]}
    _, issued = books.cli_json("list", "--direction", "issued")
    assert all(r["booking"] is None and r["claim"] is None for r in issued)

    # 统计确认 shows in the deduction state
    assert books.cli("deduct", "confirm", "--tenant", t, "--period", "2024-11").exit_code == 0
    _, rows = books.cli_json("list", "--state", "selected")
    assert rows[0]["deduction"]["confirmed"] is True

    res = books.cli("list", "--csv", "--direction", "received")
    table = list(csv.reader(io.StringIO(res.stdout)))
    head = table[0]
    for zh in ("入账状态", "凭证号", "报销状态", "报销单号", "报销人", "勾选状态", "勾选所属期", "红冲状态"):  # fmt: skip
        assert zh in head, head
    row0 = next(r for r in table if r0.number in r)
    assert row0[head.index("入账状态")] == "已入账" and row0[head.index("凭证号")] == "记-0012"
    assert row0[head.index("报销状态")] == "已报销" and row0[head.index("报销人")] == "张三"
    row2 = next(r for r in table if r2.number in r)
    assert row2[head.index("勾选状态")] == "已勾选" and row2[head.index("用途")] == "抵扣"
    assert row2[head.index("统计确认")] == "已确认"
    row3 = next(r for r in table if r3.number in r)
    assert row3[head.index("红冲状态")] == "全额红冲"

    res = books.cli("list", "--csv", "--headers", "en", "--direction", "received")
    table = list(csv.reader(io.StringIO(res.stdout)))
    head = table[0]
    row0 = next(r for r in table if r0.number in r)
    assert row0[head.index("booking")] == "booked"
    assert row0[head.index("booking.voucher")] == "记-0012"
    assert row0[head.index("claim.claim")] == "BX-7"

    table_out = books.cli("list", "--state", "booked").output  # the person's table
    assert "入账状态" in table_out and "已入账 记-0012" in table_out

    bad = books.cli("list", "--state", "paid")
    assert bad.exit_code == 2 and "booked" in bad.output and "已入账" in bad.output


def test_the_states_come_from_the_declarations() -> None:
    owners = {s.name: c.name for c in plugins.capabilities() for s in c.states}
    assert owners == {
        "booking": "expense",
        "claim": "expense",
        "deduction": "deduct",
        "reversal": "red",
    }
    assert set(listing_states.codes()) == {
        "booked", "unbooked", "claimed", "unclaimed", "selected", "unselected", "red_partial", "red_full",
    }  # fmt: skip
    with pytest.raises(BadQuery):
        Listing(states=("paid",))
    with pytest.raises(BadQuery):
        Listing(include=("nothing",))


def test_columns_are_joined_only_when_asked() -> None:
    """The plain page reads the invoices alone; a column adds its LEFT JOIN, a filter its EXISTS."""

    def sql(q: Listing) -> str:
        return listing_sql.listing(q, None, dialect="sqlite", date=str, after=None, rows=51).sql

    plain = sql(Listing())
    assert "bookings" not in plain and "expense_claims" not in plain and "JOIN" not in plain
    shown = sql(Listing(include=("booking",)))
    assert "LEFT JOIN bookings" in shown and "expense_claims" not in shown
    filtered = sql(Listing(states=("unbooked",)))
    assert "NOT EXISTS (SELECT 1 FROM bookings" in filtered and "LEFT JOIN" not in filtered
    rare = listing_sql.listing(
        Listing(states=("claimed",)), None, dialect="sqlite", date=str, after=None, rows=51,
        driven=frozenset({"claimed"}),
    ).sql  # fmt: skip
    assert "i.id IN (SELECT xc.invoice_id FROM expense_claims" in rare
    assert "i.id IN" not in sql(Listing(states=("claimed",)))
    params = Listing.from_params({"state": "booked,unclaimed", "include": "all"})
    assert params.states == ("booked", "unclaimed") and params.include == ("all",)
    assert Listing(states=("booked", "claimed")).params()["state"] == "booked,claimed"
