"""Self-check: the 入账 and 报销 rows agree with the chain (bookings and standing claim lines
replayed from their events), so a row edited behind the program's back is found."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from fapiao.expense.tables import bookings, claims
from fapiao.ledger.replay import differences, events
from fapiao.ops.checks import FAIL, OK, SKIP, Check, Probe

ACTIONS = ("book.booked", "book.undone", "expense.claimed", "expense.released")


def check_expense_chain(probe: Probe) -> Check:
    name = "expense_chain"
    if not probe.db_ok or probe.schema_error or probe.engine is None:
        return Check(
            name, SKIP, "not_checked", "数据库不可用，未检查", "database not usable: not checked"
        )
    want_book: dict[str, str] = {}
    want_claim: dict[str, tuple[str, str]] = {}  # line id -> (invoice id, claim number)
    with probe.engine.connect() as conn:
        for action, entity_id, p in events(conn, ACTIONS):
            if action == "book.booked":
                want_book[entity_id] = p["voucher"]
            elif action == "book.undone":
                want_book.pop(entity_id, None)
            elif action == "expense.claimed":
                want_claim[str(p["line"])] = (entity_id, p["claim"])
            else:
                want_claim.pop(str(p["line"]), None)
        have_book = {str(r.invoice_id): r.voucher for r in conn.execute(select(bookings))}
        have_claim = {
            str(r.id): (str(r.invoice_id), r.claim_no)
            for r in conn.execute(select(claims).where(claims.c.active_key.is_not(None)))
        }
    bad = differences(want_book, have_book) + differences(want_claim, have_claim)
    if bad:
        return Check(
            name,
            FAIL,
            "state_differs",
            f"入账/报销记录与审计链不符（被绕过程序修改）：{', '.join(bad)}",
            f"booking/claim rows differ from the audit chain: {', '.join(bad)}",
            {"keys": bad},
        )
    return Check(
        name, OK, "ok", "入账/报销记录与审计链一致", "booking and claim rows match the chain"
    )


CHECKS: dict[str, Callable[[Probe], Check]] = {"expense_chain": check_expense_chain}
