"""入账 and 报销 from the command line, on SQLite and PostgreSQL: book and undo, the listing's state
filters, and no invoice claimed twice — refused naming the first claim, also when two claims race
and when a claim line was written beside the ledger's lock (the unique index has the last word)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from fapiao.expense import service
from fapiao.expense.tables import claims
from fapiao.ledger import audit
from fapiao.ledger.store import Ledger
from tests.inbound_support import Books, make_books


@pytest.fixture
def books(db_url: str, tmp_path: Path) -> Books:
    b = make_books(db_url, tmp_path)
    yield b
    b.ledger.engine.dispose()


def listed(books: Books, *states: str) -> set[str]:
    args = [a for s in states for a in ("--state", s)]
    rc, rows = books.cli_json("list", "--direction", "received", *args)
    assert rc == 0
    return {r["number"] for r in rows}


def test_book_and_undo_with_list_filters(books: Books) -> None:
    r0, r1, r2, _ = books.received
    rc, got = books.cli_json("book", r0.number, r1.number, "--voucher", "记-0012")
    assert rc == 0 and {d["voucher"] for d in got["booked"]} == {"记-0012"}
    assert listed(books, "booked") == {r0.number, r1.number}
    assert r2.number in listed(books, "unbooked") and r0.number not in listed(books, "unbooked")

    # the same voucher again changes nothing; another voucher is refused; issued is refused
    before = books.events()
    assert books.cli("book", r0.number, "--voucher", "记-0012").exit_code == 0
    rc, got = books.cli_json("book", r0.number, r2.number, "--voucher", "记-0099")
    assert rc == 1 and [f["code"] for f in got["refused"]] == ["book_already"]
    rc, got = books.cli_json("book", books.issued.number)
    assert rc == 1 and got["refused"][0]["code"] == "expense_not_received"
    assert books.events() == before and r2.number not in listed(books, "booked")

    rc, got = books.cli_json("book", "undo", r1.number)
    assert rc == 0 and got["unbooked"][0]["key"] == r1.number
    assert books.cli_json("book", "undo", r1.number)[0] == 1
    assert listed(books, "booked") == {r0.number}
    rc, rows = books.cli_json("list", "--state", "booked")
    assert rows[0]["booking"]["voucher"] == "记-0012"
    assert books.cli("list", "--state", "paid").exit_code == 2
    assert audit.verify(books.ledger.engine).ok


def test_a_second_claim_is_refused_naming_the_first(books: Books) -> None:
    r0, r1, r2, _ = books.received
    rc, got = books.cli_json("expense", "claim", r0.number, r1.number, "--claim", "BX-001", "--person", "张三")  # fmt: skip
    assert rc == 0 and len(got["claimed"]) == 2
    assert listed(books, "claimed") == {r0.number, r1.number}
    assert listed(books, "claimed", "unbooked") == {r0.number, r1.number}

    before = books.events()
    rc, got = books.cli_json("expense", "claim", r2.number, r1.number, "--claim", "BX-002", "--person", "李四")  # fmt: skip
    assert rc == 1 and got["claimed"] == []
    (f,) = got["refused"]
    assert (
        f["code"] == "expense_claimed_before"
        and "BX-001" in f["message"]
        and "张三" in f["message"]
    )
    assert "BX-001" in f["message_en"]
    rc, got = books.cli_json("expense", "claim", books.red.number, "--claim", "BX-003")
    assert rc == 1 and got["refused"][0]["code"] == "expense_not_normal"
    assert books.cli("expense", "claim", r2.number, "--claim", " ").exit_code == 1
    assert books.events() == before and r2.number not in listed(books, "claimed")

    # released, the invoice may be claimed again; the old line stays as history
    rc, got = books.cli_json("expense", "release", "--claim", "BX-001")
    assert rc == 0 and len(got["released"]) == 2
    assert books.cli_json("expense", "claim", r1.number, "--claim", "BX-002")[0] == 0
    rc, lines = books.cli_json("expense", "list", "--all")
    assert [(line["claim_no"], bool(line["released_at"])) for line in lines] == [
        ("BX-001", True),
        ("BX-001", True),
        ("BX-002", False),
    ]
    shown = books.cli_json("show", r1.number)[1]
    actions = [e["action"] for e in shown["events"]]
    assert actions.count("expense.claimed") == 2 and "expense.released" in actions
    assert audit.verify(books.ledger.engine).ok


def test_the_unique_index_holds_without_the_lock(books: Books) -> None:
    """A second standing line for one identity cannot be written at all, whatever the path."""
    key = books.received[0].number
    row = {
        "invoice_id": int(books.id_of(books.received[0])),
        "tenant_id": books.tenant,
        "identity_key": key,
        "active_key": key,
        "person": "",
        "claimed_at": "x",
        "claimed_by": "x",
        "released_at": "",
        "released_by": "",
    }
    with books.ledger.engine.begin() as conn:
        conn.execute(insert(claims).values(id=1, claim_no="A", **row))
    with pytest.raises(IntegrityError), books.ledger.engine.begin() as conn:
        conn.execute(insert(claims).values(id=2, claim_no="B", **row))


def test_racing_claims_one_wins(books: Books) -> None:
    number = books.received[2].number
    results: dict[str, tuple] = {}
    start = threading.Barrier(2)

    def run(claim_no: str) -> None:
        start.wait()
        led = Ledger(books.ledger.engine, actor=f"cli:{claim_no}")
        results[claim_no] = service.claim(led, keys=[number], claim_no=claim_no)

    threads = [threading.Thread(target=run, args=(c,)) for c in ("BX-A", "BX-B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    winners = [c for c, (done, _) in results.items() if done]
    assert len(winners) == 1
    (loser,) = set(results) - set(winners)
    (f,) = results[loser][1]
    assert f.code == "expense_claimed_before" and winners[0] in f.message


def test_a_line_written_beside_the_lock_is_named(books: Books) -> None:
    """A line inserted in a transaction the claim cannot see yet: the claim's own insert waits on
    the unique index, fails when that transaction commits, and the refusal names that line."""
    r3 = books.received[3]
    inserted = threading.Event()

    def beside() -> None:
        with books.ledger.engine.begin() as conn:
            conn.execute(
                insert(claims).values(
                    id=10**9, invoice_id=int(books.id_of(r3)), tenant_id=books.tenant,
                    identity_key=r3.number, active_key=r3.number, claim_no="BX-RAW", person="王五",
                    claimed_at="2024-12-01T00:00:00", claimed_by="x", released_at="", released_by="",
                )
            )  # fmt: skip
            inserted.set()
            time.sleep(0.5)

    t = threading.Thread(target=beside)
    t.start()
    inserted.wait(10)
    done, problems = service.claim(books.ledger, keys=[r3.number], claim_no="BX-NEW")
    t.join(10)
    assert done == [] and [p.code for p in problems] == ["expense_claimed_before"]
    assert "BX-RAW" in problems[0].message


def test_the_self_check_finds_rows_changed_behind_the_chain(books: Books) -> None:
    from sqlalchemy import delete

    from fapiao.expense.checks import CHECKS
    from fapiao.expense.tables import bookings
    from fapiao.ops.checks import Probe

    r0, r1 = books.received[:2]
    assert books.cli("book", r0.number, "--voucher", "记-1").exit_code == 0
    assert books.cli("expense", "claim", r0.number, r1.number, "--claim", "BX-1").exit_code == 0
    assert books.cli("expense", "release", r1.number).exit_code == 0
    assert CHECKS["expense_chain"](Probe(books.ledger.engine)).level == "ok"
    with books.ledger.engine.begin() as conn:
        conn.execute(delete(bookings))
    check = CHECKS["expense_chain"](Probe(books.ledger.engine))
    assert check.level == "fail" and check.data["keys"] == [books.id_of(r0)]
